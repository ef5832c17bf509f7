"""The month's report: Markdown (printed and written) and a PNG chart."""

from __future__ import annotations

from pathlib import Path
from statistics import quantiles
from typing import Any

from shared.web.i18n import department_label


def percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return quantiles(values, n=100, method="inclusive")[q - 1]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def breaches(row: dict[str, Any]) -> int:
    """Resolution deadlines missed: resolved late, plus open tickets already past due."""
    late = row["resolved"] - round((row["on_time_rate"] or 0) * row["resolved"])
    return late + row["open_breaches"]


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    resolved = sum(r["resolved"] for r in rows)
    on_time = sum(round((r["on_time_rate"] or 0) * r["resolved"]) for r in rows)
    ratings = sum(r["ratings"] for r in rows)
    happy = sum(round((r["satisfaction"] or 0) * r["ratings"]) for r in rows)
    return {"resolved": resolved, "on_time_rate": on_time / resolved if resolved else None,
            "ratings": ratings, "satisfaction": happy / ratings if ratings else None,
            "breaches": sum(breaches(r) for r in rows),
            "backlog": sum(r["backlog"] for r in rows)}


def cost(results: dict[str, Any]) -> str:
    """CPU seconds of the run, the store's part, and the machine's load meanwhile."""
    cpu = results.get("cpu_seconds") or {}
    if not cpu:
        return ""
    total = sum(cpu.values())
    store = sum(s for name, s in cpu.items() if name in ("store", "tracker-store"))
    machine = results.get("machine") or {}
    wall = results["wall_seconds"]
    mode = results.get("durable_store")
    where = ("the embedded store" if mode is None else "the embedded store, syncing every "
             "commit" if mode else "the embedded store, not syncing each commit")
    if results.get("stores", 1) == 2:
        where = where.replace("the embedded store", "two embedded stores (the tracker's "
                              "database on one, intake's and the classifier's on the other)")
    text = (f"It used {total:,.0f} CPU seconds ({store:,.0f} s, {store / total * 100:.0f}%, in "
            f"{where}), {total / wall:.2f} cores on average over "
            f"{wall:,.0f} s of wall time")
    loads = machine.get("load_average_daily") or []
    if loads:
        text += (f", on a {machine.get('cores', '?')}-core machine whose load average "
                 f"(1 min, read once a simulated day) was {min(loads):.1f}–{max(loads):.1f}, "
                 f"mean {sum(loads) / len(loads):.1f}")
    return text + "."


def _transactions(counts: dict[str, float] | None) -> list[str]:
    if not counts or not counts.get("committed"):
        return []
    return [f"| ticket writes moving the figures: transactions / runs (again after a write "
            f"conflict) | {counts['committed']:,.0f} / {counts['runs']:,.0f} |"]


def markdown(results: dict[str, Any]) -> str:
    plan = results["plan"]
    rows = results["departments"]
    total = totals(rows)
    sim = results["surge_latency_sim_s"]
    speed = results["surge_speed"] or 1.0
    p50, p99 = percentile(sim, 50), percentile(sim, 99)
    lines = [
        f"# A month of the city: {plan['reports']:,} reports over {plan['days']} days",
        "",
        f"From {plan['start'][:10]} (city time); {plan['admin_share'] * 100:.0f}% about "
        f"administrative procedures; a storm of {plan['surge']:,} flooding reports in "
        f"{plan['surge_hours']:g} hours from {plan['surge_start'][:16]}. Replayed in "
        f"{results['wall_seconds'] / 60:.1f} minutes of wall time through intake, Kafka, "
        "the classifier and the tracker. " + cost(results),
        "",
        "| | |", "|---|---:|",
        f"| reports sent / accepted by intake | {plan['reports']:,} / {results['sent']:,} |",
        f"| **lost** (accepted, never routed to a ticket; or refused) | **{results['lost']}** |",
        f"| retries after a 5xx or no answer | {results['retries']} |",
        *_transactions(results.get("figure_transactions")),
        f"| triaged by the call center (classifier unsure) | {results['triaged']:,} |",
        f"| resolved (moves to in progress / resolved) | "
        f"{results['moves'].get('in_progress', 0):,} / {results['moves'].get('resolved', 0):,} |",
        f"| citizens' ratings / reopened | {results['ratings']:,} / {results['reopens']:,} |",
        f"| on time, all departments (target 99%) | {_pct(total['on_time_rate'])} |",
        f"| satisfied (4-5 stars), all departments (target 90%) | "
        f"{_pct(total['satisfaction'])} |",
        f"| resolution deadlines breached (late or overdue) | {total['breaches']:,} |",
        f"| open at the month's end | {total['backlog']:,} |",
        "| storm: report→routed ticket, p50 / p99 (simulated minutes) | "
        + ("—" if p50 is None else f"{p50 / 60:.1f} / {p99 / 60:.1f}") + " |",
        f"| storm: the same in wall seconds (clock ×{speed:.0f} during the storm) | "
        + ("—" if p50 is None else f"{p50 / speed:.2f} / {p99 / speed:.2f}") + " |",
        "",
        "| department | resolved | on time | satisfied | ratings | breaches | open |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in sorted(rows, key=lambda r: -(r["resolved"] + r["backlog"])):
        lines.append(f"| {department_label(row['department'], 'en')} | {row['resolved']:,} | "
                     f"{_pct(row['on_time_rate'])} | {_pct(row['satisfaction'])} | "
                     f"{row['ratings']:,} | {breaches(row):,} | {row['backlog']:,} |")
    if results["crashed"]:
        lines += ["", f"Processes that exited during the run: {', '.join(results['crashed'])}."]
    return "\n".join(lines) + "\n"


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted((r for r in results["departments"] if r["resolved"]),
                  key=lambda r: -r["resolved"])
    names = [department_label(r["department"], "en")[:28] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 0.42 * len(rows) + 2.2),
                                      gridspec_kw={"width_ratios": [3, 2]})
    ys = range(len(rows))
    left.barh([y - 0.2 for y in ys], [100 * (r["on_time_rate"] or 0) for r in rows],
              height=0.4, label="on time", color="#2f6f9f")
    left.barh([y + 0.2 for y in ys], [100 * (r["satisfaction"] or 0) for r in rows],
              height=0.4, label="satisfied", color="#e0a030")
    left.axvline(99, color="#2f6f9f", linestyle="--", linewidth=1)
    left.axvline(90, color="#e0a030", linestyle="--", linewidth=1)
    left.set_yticks(list(ys), names)
    left.invert_yaxis()
    left.set_xlim(0, 100)
    left.set_xlabel("% (targets: 99% on time, 90% satisfied)")
    left.legend(loc="lower right")
    left.set_title("Per department")
    sim = sorted(s / 60 for s in results["surge_latency_sim_s"])
    if sim:
        right.plot(sim, [100 * (i + 1) / len(sim) for i in range(len(sim))], color="#2f6f9f")
        right.set_xlabel("report → routed ticket (simulated minutes)")
        right.set_ylabel("% of the storm's reports")
        right.set_title(f"Storm: {len(sim):,} flooding reports")
        right.grid(alpha=0.3)
    else:
        right.axis("off")
    fig.suptitle(f"A month of the city: {results['plan']['reports']:,} reports, "
                 f"lost {results['lost']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(results: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    md, png = folder / "simulation.md", folder / "simulation.png"
    md.write_text(markdown(results) + f"\n![chart]({png.name})\n", encoding="utf-8")
    chart(results, png)
    return md, png
