# rxload: the RandomX miner workload (Debian librandomx), and the small test programs of the fpprobe tests.
$(BUILD)/rxload: tools/rxload/rxload.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $< -lrandomx -lpthread

# tests/progs: FP behaviour of ordinary programs the probe must not mistake for RandomX.
$(BUILD)/progs/fp_fastmath: tests/progs/fp_fastmath.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -ffast-math -o $@ $< -lm

$(BUILD)/progs/procscan_cli: tests/progs/procscan_cli.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/progs/%: tests/progs/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -D_GNU_SOURCE -o $@ $< -lm -lpthread

tools: $(BUILD)/rxload $(patsubst tests/progs/%.c,$(BUILD)/progs/%,$(wildcard tests/progs/*.c))
