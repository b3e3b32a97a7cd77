#!/usr/bin/python3
"""Plots of the held-out evaluation (tools/eval/eval.sh): reads OUTDIR/samples.tsv and traces.tsv, writes
score.png (score over time per recording, held-out model, one panel per class), time_to_mining.png (time to
`mining` against CPU share, with the deadlines) and confusion.png (recordings by label and highest verdict)."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SUSPECT, MINING = 0.5, 0.8


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def main(out):
    samples = [r for r in read(out + "/samples.tsv") if r["model"] == "held-out"]
    traces = read(out + "/traces.tsv")
    classes = []
    for t in traces:
        key = (t["label"], t["class"])
        if key not in classes:
            classes.append(key)
    classes.sort(key=lambda k: (k[0] != "mining", k[1]))

    # score over time, one panel per class
    cols = 4
    rows = (len(classes) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.9 * rows), sharey=True, squeeze=False)
    for i, (label, cls) in enumerate(classes):
        ax = axes[i // cols][i % cols]
        for t in traces:
            if t["class"] != cls:
                continue
            pts = [r for r in samples if r["recording"] == t["recording"]]
            xs = [float(r["t"]) for r in pts]
            ys = [float(r["p"]) for r in pts]
            ax.plot(xs, ys, lw=1.4, label=t["recording"].replace(".trace", ""))
            if label == "mining" and float(t["deadline_s"]) >= 0:
                ax.axvline(float(t["deadline_s"]), color="grey", ls=":", lw=1)
        ax.axhline(MINING, color="red", ls="--", lw=0.8)
        ax.axhline(SUSPECT, color="orange", ls="--", lw=0.8)
        ax.set_title(("miner: " if label == "mining" else "benign: ") + cls, fontsize=10,
                     color="darkred" if label == "mining" else "darkgreen")
        ax.set_ylim(-0.03, 1.03)
        ax.legend(fontsize=6.5, loc="lower right" if label == "mining" else "upper right")
        ax.tick_params(labelsize=8)
        if i % cols == 0:
            ax.set_ylabel("fused score p")
        ax.set_xlabel("s from first sample", fontsize=8)
    for j in range(len(classes), rows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.suptitle("Held-out score over time (model trained without the class); dashed: mining 0.8, suspect 0.5; "
                 "dotted: deadline", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(out + "/score.png", dpi=90)
    plt.close(fig)

    # time to mining against CPU share
    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [0.05, 0.25, 0.25, 2.2]
    ax.step([0.05, 0.25, 2.2], [30, 10, 10], where="post", color="red", ls="--", lw=1,
            label="deadline (at a steady CPU share)")
    offsets = [(5, 3), (5, -10), (5, 11), (-60, 5)]
    for k, t in enumerate(x for x in traces if x["label"] == "mining"):
        c, tm = float(t["mean_cores"]), float(t["held_to_mining_s"])
        ok = t["pass"] == "1"
        ax.scatter([c], [tm if tm >= 0 else 40], marker="o" if ok else "x", s=40,
                   color="tab:blue" if ok else "red")
        ax.annotate(t["recording"].replace(".trace", "").replace("rx-", ""), (c, tm if tm >= 0 else 40),
                    fontsize=7, xytext=offsets[k % len(offsets)], textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlim(0.03, 2.5)
    ax.set_ylim(0, 42)
    ax.set_xlabel("mean CPU cores used by the miner's cgroup (log scale)")
    ax.set_ylabel("held-out time to `mining` (s)")
    ax.set_title("Miners: time to `mining` against CPU share (x at 40 s: never)")
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out + "/time_to_mining.png", dpi=100)
    plt.close(fig)
    del xs

    # confusion matrix: label x highest held-out verdict
    verdicts = ["clean", "suspect", "mining"]
    labels = ["mining", "benign"]
    m = [[sum(1 for t in traces if t["label"] == lab and t["held_max"] == v) for v in verdicts] for lab in labels]
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    ax.imshow(m, cmap="Blues")
    for i in range(2):
        for j in range(3):
            ax.text(j, i, str(m[i][j]), ha="center", va="center", fontsize=14,
                    color="white" if m[i][j] > max(max(r) for r in m) / 2 else "black")
    ax.set_xticks(range(3), ["clean", "suspect", "mining"])
    ax.set_yticks(range(2), ["miner recordings", "benign recordings"])
    ax.set_xlabel("highest verdict, held-out model")
    ax.set_title("Recordings by label and highest verdict")
    fig.tight_layout()
    fig.savefig(out + "/confusion.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/eval")
