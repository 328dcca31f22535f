"""The results as a markdown table and a PNG of the latency percentiles."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .load import Result


@dataclass
class Row:
    name: str
    who: str  # system, carer, none (the ceiling)
    result: Result
    peak_rss_mb: float
    server_cpu: float  # server CPU seconds per second (all workers)
    db_cpu: float | None = None  # the same for the PostgreSQL backends (a server on this machine)
    worker_cpu: tuple = ()  # per worker (a worker keeps the keep-alive connections it accepted)
    attempts: int = 1  # measured this often; only the last counts
    vs_ceiling: float | None = None
    carer_vs_system: float | None = None

    @property
    def label(self) -> str:
        return self.name if self.who == "none" else f"{self.name} ({self.who})"


def relate(rows: list[Row], ceilings: dict[str, float], ceiling_of: dict[str, str | None]) -> None:
    """Fill in each row's ratio to its ceiling and each carer row's ratio to the same question as system."""
    system = {r.name: r.result.rate for r in rows if r.who == "system"}
    for r in rows:
        kind = ceiling_of.get(r.name)
        if kind and ceilings.get(kind):
            r.vs_ceiling = r.result.rate / ceilings[kind]
        if r.who == "carer" and system.get(r.name):
            r.carer_vs_system = r.result.rate / system[r.name]


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.0f} %"


def _ms(x: float) -> str:
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def one_worker(r: Row) -> bool:
    """Did one worker do (nearly) all the work? Then the row measured one process, not the server."""
    return len(r.worker_cpu) > 1 and r.server_cpu > 0.05 and max(r.worker_cpu) > 0.9 * r.server_cpu


def _cores(r: Row) -> str:
    split = " (" + " + ".join(f"{c:.2f}" for c in r.worker_cpu) + ")" if len(r.worker_cpu) > 1 else ""
    tries = f" ({r.attempts} tries)" if r.attempts > 1 else ""
    return f"{r.server_cpu:.2f}{split}" + (" †" if one_worker(r) else "") + tries


def table(rows: list[Row]) -> str:
    db = any(r.db_cpu is not None for r in rows)
    lines = ["| scenario | as | req/s | p50 ms | p95 ms | p99 ms | non-2xx | requests | peak RSS/worker MB "
             "| server CPU (cores: all workers (each)) |" + (" PostgreSQL CPU (cores) |" if db else "")
             + " generator CPU (cores) | vs ceiling | carer/system |",
             "|---|---|" + "---:|" * (11 + db)]
    for r in rows:
        res = r.result
        db_cell = (f" {r.db_cpu:.2f} |" if r.db_cpu is not None else " – |") if db else ""
        lines.append(f"| {r.name} | {r.who if r.who != 'none' else 'bare Flask'} | {res.rate:,.0f} | {_ms(res.p50_ms)} "
                     f"| {_ms(res.p95_ms)} | {_ms(res.p99_ms)} | {res.non_2xx} | {res.requests:,} "
                     f"| {r.peak_rss_mb:.0f} | {_cores(r)} |{db_cell} {res.generator_cpu:.2f} "
                     f"| {_pct(r.vs_ceiling)} | {_pct(r.carer_vs_system)} |")
    if any(one_worker(r) for r in rows):
        lines += ["", "† one worker did over 90 % of the work, even after the retries (--retries): it held (nearly) "
                      "all the keep-alive connections, or the other worker's threads were waiting (on SQLite's "
                      "write lock, for one); the server CPU beside the ceiling's tells which."]
    return "\n".join(lines)


def write_markdown(path: Path, title: str, sections: list[tuple[str, str]]) -> None:
    text = [f"# {title}", ""]
    for heading, body in sections:
        text += [f"## {heading}", "", body.rstrip(), ""]
    path.write_text("\n".join(text))


def plot(rows: list[Row], path: Path, title: str) -> None:
    """Horizontal bars: p50, p95 and p99 per row, on a log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.ticker import FuncFormatter

    labels = [f"{r.label}  {r.result.rate:,.0f}/s" for r in rows][::-1]
    values = [(r.result.p50_ms, r.result.p95_ms, r.result.p99_ms) for r in rows][::-1]
    height = 0.27
    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.42 * len(rows)), dpi=110)
    for k, (name, colour) in enumerate([("p50", "#4c72b0"), ("p95", "#dd8452"), ("p99", "#c44e52")]):
        ys = [i + (1 - k) * height for i in range(len(rows))]
        xs = [max(v[k], 0.01) for v in values]
        ax.barh(ys, xs, height=height, color=colour, label=name)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    ax.set_xlabel("latency in ms (log scale); req/s after each label")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
