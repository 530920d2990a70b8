"""What a move will do (``Plan``: typed items, problems) and what it did (``Report``). Data only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from app.storage import ObjectStat


class Action(StrEnum):
    UPLOAD = "upload"  # a local file to S3, then the record switched to it
    FINISH = "finish"  # the record is in S3 already: let go of the local copy
    ORPHAN = "orphan"  # a local audio file no record knows: kept safe in S3 under episodes/_orphans/
    DOWNLOAD = "download"  # an S3 object to the disk, then the record switched to it
    RELINK = "relink"  # the bytes are in place already: only the record changes
    DELETE = "delete"  # an S3 copy a killed run left behind after the record moved to the disk
    COPY = "copy"  # an S3 object to its canonical key, then the record switched to it
    CLEANUP = "cleanup"  # the superseded S3 key of an earlier copy


@dataclass(frozen=True)
class Work:
    """What every unit of work says of itself: ``action`` moves ``source`` to ``dest``."""

    action: Action
    source: str
    dest: str
    size: int

    def describe(self) -> str:
        return f"{self.action.value:8} {self.source} -> {self.dest} ({self.size} bytes)"


@dataclass(frozen=True)
class Item(Work):
    """Work on one record's file: ``record_id`` is the episode's (or, moving sources, the source's) id."""

    record_id: str


@dataclass(frozen=True)
class OrphanFile(Work):
    """A local audio file no record knows (``Action.ORPHAN``): kept safe in S3, no record to switch."""


@dataclass
class Plan:
    """The work a move will do. A plan to show (``held``: a dry run) keeps only its first ``held`` units of work:
    its counts and bytes are of all of it, its memory is not."""

    items: list[Item] = field(default_factory=list)
    orphans: list[OrphanFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what cannot be done, and why
    listing: dict[str, ObjectStat] = field(default_factory=dict)  # S3 as the plan saw it (one listing)
    held: int | None = None  # None: every unit of work is kept (the plan will be carried out)
    counts: Counter[Action] = field(default_factory=Counter)
    sizes: Counter[Action] = field(default_factory=Counter)  # bytes, by action

    def add(self, work: Work) -> None:
        self.counts[work.action] += 1
        self.sizes[work.action] += work.size
        if self.held is not None and len(self.items) + len(self.orphans) >= self.held:
            return
        if isinstance(work, OrphanFile):
            self.orphans.append(work)
        elif isinstance(work, Item):
            self.items.append(work)

    @property
    def work(self) -> list[Work]:
        return [*self.items, *self.orphans]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def bytes(self) -> int:
        return sum(self.sizes.values())

    def summary(self) -> str:
        actions = ", ".join(f"{n} {action.value}" for action, n in sorted(self.counts.items())) or "nothing to do"
        return f"{self.total} items ({actions}), {self.bytes / 2**20:.1f} MiB"


@dataclass
class Report:
    done: list[Work] = field(default_factory=list)
    skipped: list[Work] = field(default_factory=list)  # already in place: nothing transferred
    failed: list[tuple[Work, str]] = field(default_factory=list)
    gone: list[Work] = field(default_factory=list)  # its record deleted by the live app meanwhile: not a failure
    seconds: float = 0.0

    @property
    def bytes(self) -> int:
        return sum(item.size for item in self.done)

    def summary(self) -> str:
        rate = self.bytes / 2**20 / self.seconds if self.seconds else 0.0
        gone = f"{len(self.gone)} deleted meanwhile, " if self.gone else ""
        return (f"{len(self.done)} moved, {len(self.skipped)} already in place, {gone}{len(self.failed)} failed, "
                f"{self.bytes / 2**20:.1f} MiB in {self.seconds:.1f}s ({rate:.1f} MiB/s)")
