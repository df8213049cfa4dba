"""The delivery health page's charts, drawn on the server as inline SVG: the geometry is
computed here, the markup is in templates/admin/leads/deliveryhealth/chart_*.html.

Each chart has a viewBox and is drawn at the page's width (100%), so it fits a phone
without scrolling; a title and a description name it for screen readers, and the page
has the same figures as a table.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.formats import number_format

from .rollups import BUCKETS, LATENCY_BOUNDS, bucket_label, duration_label
from .selectors import Outcomes


@dataclass(frozen=True)
class Window:
    key: str  # the `window` query parameter
    label: str
    hours: int
    slot_hours: int  # hours per bar
    tick_hours: int  # a labelled tick where a slot starts at a multiple of these (UTC)
    tick_format: str  # strftime of a tick's label


WINDOWS = {
    window.key: window
    for window in (
        Window("24h", "Last 24 hours", 24, 1, 6, "%H:00"),
        Window("7d", "Last 7 days", 7 * 24, 6, 24, "%a %d"),
    )
}
DEFAULT_WINDOW = WINDOWS["24h"]


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    outcomes: Outcomes

    @property
    def label(self) -> str:
        """`Mar 10, 14:00 to 15:00` (UTC)."""
        return f"{self.start:%b %d, %H:%M} to {self.end:%H:%M}"


def window_start(window: Window, now: datetime) -> datetime:
    """The first hour of the window, whose last slot is the current one, partly over;
    slots start at multiples of their length (00:00, 06:00... for 6 hours), so that a
    day's tick falls on midnight."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    current = hour - timedelta(hours=hour.hour % window.slot_hours)
    return current - timedelta(hours=window.hours - window.slot_hours)


def slots(window: Window, since: datetime, hours: dict[datetime, Outcomes]) -> list[Slot]:
    """The window's bars, oldest first: each sums `slot_hours` hourly rollups."""
    step = timedelta(hours=window.slot_hours)
    result = []
    for index in range(window.hours // window.slot_hours):
        start = since + index * step
        outcomes = Outcomes()
        for offset in range(window.slot_hours):
            outcomes = outcomes + hours.get(start + timedelta(hours=offset), Outcomes())
        result.append(Slot(start=start, end=start + step, outcomes=outcomes))
    return result


# The drawing area, in viewBox units: a 720 x 240 box with room for the axes' labels,
# which health.css draws larger on a phone (where the box is scaled down).
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 76, 12, 12, 30
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

# Bottom to top in a bar; each is a class of admin.css and an entry of the legend.
SERIES = (
    ("delivered", "Delivered"),
    ("ignored", "Ignored (406)"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
)


@dataclass(frozen=True)
class Tick:
    position: float  # x for the time axis, y for the value axis
    label: str


@dataclass(frozen=True)
class Rect:
    series: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Bar:
    title: str  # the slot and its figures, shown on hover
    x: float
    width: float
    rects: list[Rect]


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Line:
    series: str  # p50 or p99
    label: str
    segments: list[str]  # SVG polyline points, one per run of slots with deliveries
    points: list[Point]
    radius: float  # of the points: p99's a ring around p50's dot


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    bars: list[Bar]
    lines: list[Line]
    view_box: str = f"0 0 {WIDTH} {HEIGHT}"
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    plot_height: int = PLOT_HEIGHT
    label_x: int = LEFT - 6
    label_y: int = HEIGHT - 6


def _x_ticks(window: Window, slots: list[Slot]) -> list[Tick]:
    band = PLOT_WIDTH / len(slots)
    return [
        Tick(position=LEFT + index * band, label=slot.start.strftime(window.tick_format))
        for index, slot in enumerate(slots)
        if slot.start.hour % window.tick_hours == 0
    ]


def grouped(count: int) -> str:
    """`12,345`: counts are read at a glance."""
    return number_format(count, force_grouping=True)


def _short(count: int) -> str:
    """An axis label that fits a phone: `800`, `4,000`, `40k`, `1.5M`."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:g}M"
    if count >= 10_000:
        return f"{count / 1000:g}k"
    return grouped(count)


def _nice_ceiling(value: int) -> int:
    """The axis' top: the smallest round number (1, 1.5, 2, 3, 4, 5, 6 or 8 times a
    power of ten) at least `value`, so the tallest bar fills most of the height."""
    if value <= 10:
        return max(value, 1)
    power = 10
    while True:
        for factor in (1, 1.5, 2, 3, 4, 5, 6, 8):
            if power * factor >= value:
                return round(power * factor)
        power *= 10


def outcome_bars(window: Window, slots: list[Slot]) -> Chart:
    """Finished deliveries per slot, stacked by outcome."""
    top = _nice_ceiling(max((slot.outcomes.total for slot in slots), default=0))
    band = PLOT_WIDTH / len(slots)
    bars = []
    for index, slot in enumerate(slots):
        x = LEFT + index * band + band * 0.1
        base = float(TOP + PLOT_HEIGHT)
        rects = []
        for series, _ in SERIES:
            count = getattr(slot.outcomes, series)
            if count:
                height = PLOT_HEIGHT * count / top
                base -= height
                rects.append(
                    Rect(series, x, round(base, 2), round(band * 0.8, 2), round(height, 2))
                )
        bars.append(
            Bar(title=f"{slot.label}: {_figures(slot.outcomes)}", x=x, width=band, rects=rects)
        )
    total = sum((slot.outcomes for slot in slots), Outcomes())
    worst = max(slots, key=lambda slot: slot.outcomes.failed)
    description = f"{window.label}: {_figures(total)}."
    if worst.outcomes.failed:
        description += f" The most failures, {worst.outcomes.failed}, in {worst.label}."
    return Chart(
        id="outcomes",
        title=f"Finished deliveries by outcome, per {slot_name(window)} (UTC)",
        description=description,
        x_ticks=_x_ticks(window, slots),
        y_ticks=[
            Tick(position=TOP + PLOT_HEIGHT * (1 - share), label=_short(round(top * share)))
            for share in (0, 0.5, 1)
        ],
        bars=bars,
        lines=[],
    )


# The latency axis: one step per bucket (so it is logarithmic, like the bounds), with a
# few bounds labelled.
LATENCY_TICKS = (0.01, 1.0, 60.0, 3600.0, 86400.0)


def _latency_y(bucket: int) -> float:
    return round(TOP + PLOT_HEIGHT * (1 - bucket / (BUCKETS - 1)), 2)


def latency_lines(window: Window, slots: list[Slot]) -> Chart:
    """p50 and p99 of commit → answer per slot, at bucket resolution; no point where
    nothing was received."""
    band = PLOT_WIDTH / len(slots)
    lines = []
    # p99 first, as rings, so that a p50 dot on the same bucket shows inside its ring.
    for series in ("p99", "p50"):
        segments: list[list[str]] = [[]]
        points = []
        for index, slot in enumerate(slots):
            bucket = getattr(slot.outcomes, series)
            if bucket is None:
                if segments[-1]:
                    segments.append([])
                continue
            x, y = round(LEFT + (index + 0.5) * band, 2), _latency_y(bucket)
            segments[-1].append(f"{x},{y}")
            points.append(Point(x, y, f"{slot.label}: {series} {bucket_label(bucket)}"))
        runs = [" ".join(run) for run in segments if run]
        lines.append(Line(series, series, runs, points, radius=5.5 if series == "p99" else 3))
    total = sum((slot.outcomes for slot in slots), Outcomes())
    if total.received:
        description = (
            f"{window.label}: p50 {latency_text(total.p50)}, p99 {latency_text(total.p99)} "
            f"over {grouped(total.received)} received deliveries."
        )
    else:
        description = f"{window.label}: no delivery received."
    return Chart(
        id="latency",
        title=f"Commit → answer latency, p50 and p99 per {slot_name(window)} (UTC)",
        description=description,
        x_ticks=_x_ticks(window, slots),
        y_ticks=[
            Tick(position=_latency_y(LATENCY_BOUNDS.index(bound)), label=duration_label(bound))
            for bound in LATENCY_TICKS
        ],
        bars=[],
        lines=lines,
    )


def latency_text(bucket: int | None, *, none: str = "none received") -> str:
    return none if bucket is None else bucket_label(bucket)


def _figures(outcomes: Outcomes) -> str:
    figures = [
        f"{grouped(getattr(outcomes, series))} {label.lower()}"
        for series, label in SERIES
        if getattr(outcomes, series)
    ]
    return ", ".join(figures) or "no finished delivery"


def slot_name(window: Window) -> str:
    return "hour" if window.slot_hours == 1 else f"{window.slot_hours} hours"
