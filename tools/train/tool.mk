# tools/train: the model trainer (labelled traces in, model file out).
$(BUILD)/train: tools/train/train.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lm

tools: $(BUILD)/train
