# tools/eval: the held-out evaluation (eval.sh, plots.py) and a confuser program that needs C++ (Boost.Interval).
$(BUILD)/progs/interval_boost: tools/eval/interval_boost.cpp
	@mkdir -p $(dir $@)
	$(CXX) -O2 -o $@ $<

tools: $(BUILD)/progs/interval_boost

# make eval: the held-out evaluation with its report and plots (build/eval/report.md, *.png);
# make eval-check: the same assertions without the plots (for `make check`).
.PHONY: eval eval-check
eval: $(BUILD)/train
	RW_BUILD=$(BUILD) sh tools/eval/eval.sh $(BUILD)/eval

eval-check: $(BUILD)/train
	RW_BUILD=$(BUILD) sh tools/eval/eval.sh $(BUILD)/eval-check --no-plots
