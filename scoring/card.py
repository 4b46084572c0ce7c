"""The model card: members, the seed-weighted blend and the learned blend side by side on one holdout,
with a calibration curve and a lift chart (PNG). Pure: returns text and bytes; the registry writes them."""
from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # no display: the card is rendered on servers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from scoring.gate import GateResult  # noqa: E402
from scoring.metrics import calibration_curve_bins  # noqa: E402
from scoring.train import TrainingResult  # noqa: E402

_COLUMNS = ("auc", "pr_auc", "brier", "ece", "precision_at_20_recall", "top_decile_precision", "lift_at_10",
            "lift_at_20", "log_loss")


@dataclass(frozen=True)
class ModelCard:
    markdown: str
    images: dict[str, bytes]  # file name -> PNG


def _fmt(v: float | int | None) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "n/a"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def render_card(result: TrainingResult, gate: GateResult | None, version: str, created_at: str) -> ModelCard:
    """Markdown plus calibration.png and lift.png for one training run."""
    lines = [f"# Model card: {result.model.name} {version}", "", f"Trained {created_at}. Shipped: **{result.shipped}** "
             f"(weights {result.weights['shipped']}). Calibration: {result.calibration['method']} on the latest "
             f"{result.calibration['rows']} validation leads.", ""]
    if gate is not None:
        lines += [f"Gate: **{'passed' if gate.passed else 'failed'}**"]
        lines += [f"- {r}" for r in gate.reasons] + [f"- note: {n}" for n in gate.notes] + [""]
    lines += ["## Holdout comparison (same leads: the latest by time)", "",
              "| model | " + " | ".join(_COLUMNS) + " |", "|---" * (len(_COLUMNS) + 1) + "|"]
    for name, m in result.comparison.items():
        d = m.to_dict()
        mark = " (shipped)" if name == result.shipped else ""
        lines.append(f"| {name}{mark} | " + " | ".join(_fmt(d[c]) for c in _COLUMNS) + " |")
    lines += ["", "Each row is calibrated the same way on the same window; the blends differ only in weights.", "",
              "## Weights", ""]
    lines += [f"- {k}: {v}" for k, v in result.weights.items()]
    lines += ["", "## Time windows", "", "| window | from | to | leads | converted |", "|---|---|---|---|---|"]
    lines += [f"| {k} | {w.start} | {w.end} | {w.rows} | {w.positives} |" for k, w in result.windows.items()]
    lines += ["", f"Rows: {result.rows}", "", "## Score thresholds on the holdout", ""]
    lines += ["A score s ranks a lead above s% of the reference leads (validation and holdout), so score >= t "
              "should select about (100 - t)% of incoming leads while their mix stays the same.", ""]
    lines += [f"- {name}: {share:.1%} of holdout leads" for name, share in result.threshold_shares.items()]
    st = result.stability
    lines += ["", "## Feature importance stability (TimeSeriesSplit)", "",
              f"{st.folds} folds; mean pairwise Spearman {_fmt(st.mean_spearman)}, worst {_fmt(st.min_spearman)}; "
              f"fold AUCs {st.fold_auc}", "", "| feature | mean gain share | std |", "|---|---|---|"]
    for i, (name, mean) in enumerate(st.mean_importance.items()):
        if i >= 15:
            break
        lines.append(f"| {name} | {mean:.4f} | {st.std_importance[name]:.4f} |")
    if result.notes or result.warnings:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in result.notes + result.warnings]
    lines += ["", "![calibration](calibration.png)", "", "![lift](lift.png)", ""]
    images = {}
    if result.holdout_y is not None and result.holdout_probability is not None:
        images = {"calibration.png": _calibration_png(result.holdout_y, result.holdout_probability),
                  "lift.png": _lift_png(result.holdout_y, result.holdout_probability)}
    return ModelCard("\n".join(lines), images)


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _calibration_png(y: np.ndarray, p: np.ndarray) -> bytes:
    bins = calibration_curve_bins(y, p)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    ax.plot([b[0] for b in bins], [b[1] for b in bins], marker="o", label="model")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed conversion rate")
    ax.set_title("Calibration on the holdout")
    ax.legend()
    return _png(fig)


def _lift_png(y: np.ndarray, p: np.ndarray) -> bytes:
    order = np.argsort(-p, kind="stable")
    deciles = np.array_split(y[order], 10)
    base = y.mean() if len(y) else 0.0
    lift = [d.mean() / base if base and len(d) else 0.0 for d in deciles]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar(range(1, 11), lift)
    ax.axhline(1.0, color="grey", linestyle="--")
    ax.set_xlabel("decile by score (1 = highest)")
    ax.set_ylabel("lift over average conversion")
    ax.set_title("Lift on the holdout")
    return _png(fig)
