"""Built-in request-length profiles (``length_profiles.toml``): public datasets' published length statistics.

``--length-profile sharegpt`` plans for ShareGPT's mix of short and long requests instead of one average request:
the capacity search, the KV-cache need and the latency percentiles all use the distribution
(``core.percentiles.LengthProfile``). Each entry states its source and which numbers are assumed.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources

from ..core.percentiles import LengthProfile, lognormal_profile
from ..errors import CatalogError, InputError

FILENAME = "length_profiles.toml"


@dataclass(frozen=True)
class ProfileEntry:
    """One catalog entry: means, medians and caps of prompt and output lengths (tokens), and where they come from."""

    name: str
    description: str
    input_mean: float
    input_median: float
    input_max: float
    output_mean: float
    output_median: float
    output_max: float
    source: str
    as_of: str
    median_note: str = ""

    def profile(self) -> LengthProfile:
        return lognormal_profile(
            self.name,
            input_mean=self.input_mean,
            input_median=self.input_median,
            input_max=self.input_max,
            output_mean=self.output_mean,
            output_median=self.output_median,
            output_max=self.output_max,
        )


@cache
def load_length_profiles() -> dict[str, ProfileEntry]:
    """Every built-in profile by name (validated once: known fields, a source and an as_of date, positive numbers)."""
    text = resources.files("gpucast.catalog").joinpath(FILENAME).read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"catalog {FILENAME} is not valid TOML: {error}") from error
    known = {f.name for f in fields(ProfileEntry)} - {"name"}
    entries: dict[str, ProfileEntry] = {}
    for name, entry in data.items():
        unknown = sorted(set(entry) - known)
        if unknown:
            raise CatalogError(f"{FILENAME} entry {name!r} has unknown field(s) {', '.join(unknown)}")
        for required in ("source", "as_of"):
            if not entry.get(required):
                raise CatalogError(f"{FILENAME} entry {name!r} lacks {required!r}")
        try:
            parsed = ProfileEntry(name=name, **entry)
            parsed.profile()
        except (TypeError, ValueError) as error:
            raise CatalogError(f"{FILENAME} entry {name!r}: {error}") from error
        entries[name] = parsed
    return entries


def length_profile_names() -> tuple[str, ...]:
    return tuple(load_length_profiles())


def profile_key(name: str) -> str:
    """A built-in profile's name as typed in any case, with _ or spaces ("LMSYS chat", "lmsys_chat": lmsys-chat);
    the CLI, the REST API and the forms read it alike."""
    return re.sub(r"[\s_]+", "-", name.strip().lower())


def nearest_profile_hint(name: str) -> str:
    """ "; did you mean sharegpt?" for a typo ("sharegtp"), else ""."""
    close = difflib.get_close_matches(profile_key(name), length_profile_names(), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


@cache
def builtin_length_profile(name: str) -> LengthProfile:
    """The profile called ``name`` (case-insensitive), or InputError listing the accepted names."""
    entries = load_length_profiles()
    key = profile_key(name)
    if key not in entries:
        raise InputError(f"--length-profile {name!r} is not one of {', '.join(entries)} (or a CSV file path)")
    return entries[key].profile()
