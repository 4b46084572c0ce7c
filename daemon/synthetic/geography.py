"""US states for synthetic leads: population weights, zip prefixes, area codes, time zones, price levels."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np


@dataclass(frozen=True)
class StateInfo:
    """One state or DC: what the generator needs to place a lead or an officer there."""

    code: str
    name: str
    population_m: float          # 2020 census, millions: weights where leads come from
    zip3: tuple[tuple[int, int], ...]  # inclusive ranges of 3-digit zip prefixes (roughly right)
    area_codes: tuple[int, ...]
    timezone: str                # IANA zone of most of the state
    price_level: float           # median home price relative to the US median


_E, _C, _M, _P = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"

STATES: Final[tuple[StateInfo, ...]] = (
    StateInfo("AL", "Alabama", 5.0, ((350, 369),), (205, 256, 334), _C, 0.65),
    StateInfo("AK", "Alaska", 0.7, ((995, 999),), (907,), "America/Anchorage", 0.9),
    StateInfo("AZ", "Arizona", 7.2, ((850, 865),), (602, 480, 520), "America/Phoenix", 1.1),
    StateInfo("AR", "Arkansas", 3.0, ((716, 729),), (501, 479), _C, 0.6),
    StateInfo("CA", "California", 39.5, ((900, 961),), (213, 310, 415, 619, 916, 408), _P, 2.0),
    StateInfo("CO", "Colorado", 5.8, ((800, 816),), (303, 719, 970), _M, 1.4),
    StateInfo("CT", "Connecticut", 3.6, ((60, 69),), (203, 860), _E, 1.1),
    StateInfo("DE", "Delaware", 1.0, ((197, 199),), (302,), _E, 0.95),
    StateInfo("DC", "District of Columbia", 0.7, ((200, 205),), (202,), _E, 1.7),
    StateInfo("FL", "Florida", 21.5, ((320, 349),), (305, 407, 813, 904, 954), _E, 1.0),
    StateInfo("GA", "Georgia", 10.7, ((300, 319), (398, 399)), (404, 770, 912), _E, 0.9),
    StateInfo("HI", "Hawaii", 1.5, ((967, 968),), (808,), "Pacific/Honolulu", 2.2),
    StateInfo("ID", "Idaho", 1.8, ((832, 838),), (208,), "America/Boise", 1.2),
    StateInfo("IL", "Illinois", 12.8, ((600, 629),), (312, 217, 630, 773), _C, 0.8),
    StateInfo("IN", "Indiana", 6.8, ((460, 479),), (317, 219, 812), "America/Indiana/Indianapolis", 0.65),
    StateInfo("IA", "Iowa", 3.2, ((500, 528),), (515, 319), _C, 0.65),
    StateInfo("KS", "Kansas", 2.9, ((660, 679),), (316, 785, 913), _C, 0.65),
    StateInfo("KY", "Kentucky", 4.5, ((400, 427),), (502, 859), _E, 0.65),
    StateInfo("LA", "Louisiana", 4.7, ((700, 714),), (504, 225, 318), _C, 0.65),
    StateInfo("ME", "Maine", 1.4, ((39, 49),), (207,), _E, 1.0),
    StateInfo("MD", "Maryland", 6.2, ((206, 219),), (410, 301, 443), _E, 1.1),
    StateInfo("MA", "Massachusetts", 7.0, ((10, 27),), (617, 508, 978), _E, 1.6),
    StateInfo("MI", "Michigan", 10.1, ((480, 499),), (313, 616, 248), "America/Detroit", 0.7),
    StateInfo("MN", "Minnesota", 5.7, ((550, 567),), (612, 651, 952), _C, 0.9),
    StateInfo("MS", "Mississippi", 3.0, ((386, 397),), (601, 662), _C, 0.55),
    StateInfo("MO", "Missouri", 6.2, ((630, 658),), (314, 816, 417), _C, 0.7),
    StateInfo("MT", "Montana", 1.1, ((590, 599),), (406,), _M, 1.2),
    StateInfo("NE", "Nebraska", 2.0, ((680, 693),), (402, 308), _C, 0.75),
    StateInfo("NV", "Nevada", 3.1, ((889, 898),), (702, 775), _P, 1.2),
    StateInfo("NH", "New Hampshire", 1.4, ((30, 38),), (603,), _E, 1.2),
    StateInfo("NJ", "New Jersey", 9.3, ((70, 89),), (201, 973, 732, 856), _E, 1.3),
    StateInfo("NM", "New Mexico", 2.1, ((870, 884),), (505, 575), _M, 0.8),
    StateInfo("NY", "New York", 20.2, ((100, 149),), (212, 718, 518, 716, 914), _E, 1.3),
    StateInfo("NC", "North Carolina", 10.4, ((270, 289),), (704, 919, 336), _E, 0.9),
    StateInfo("ND", "North Dakota", 0.8, ((580, 588),), (701,), _C, 0.75),
    StateInfo("OH", "Ohio", 11.8, ((430, 459),), (614, 216, 513), _E, 0.65),
    StateInfo("OK", "Oklahoma", 4.0, ((730, 749),), (405, 918), _C, 0.6),
    StateInfo("OR", "Oregon", 4.2, ((970, 979),), (503, 541), _P, 1.3),
    StateInfo("PA", "Pennsylvania", 13.0, ((150, 196),), (215, 412, 717, 610), _E, 0.8),
    StateInfo("RI", "Rhode Island", 1.1, ((28, 29),), (401,), _E, 1.2),
    StateInfo("SC", "South Carolina", 5.1, ((290, 299),), (803, 843, 864), _E, 0.85),
    StateInfo("SD", "South Dakota", 0.9, ((570, 577),), (605,), _C, 0.8),
    StateInfo("TN", "Tennessee", 6.9, ((370, 385),), (615, 901, 865), _C, 0.9),
    StateInfo("TX", "Texas", 29.1, ((750, 799), (885, 885)), (214, 713, 512, 210, 817), _C, 0.9),
    StateInfo("UT", "Utah", 3.3, ((840, 847),), (801, 435), _M, 1.3),
    StateInfo("VT", "Vermont", 0.6, ((50, 59),), (802,), _E, 0.95),
    StateInfo("VA", "Virginia", 8.6, ((220, 246),), (703, 804, 757), _E, 1.1),
    StateInfo("WA", "Washington", 7.7, ((980, 994),), (206, 509, 425), _P, 1.5),
    StateInfo("WV", "West Virginia", 1.8, ((247, 268),), (304,), _E, 0.5),
    StateInfo("WI", "Wisconsin", 5.9, ((530, 549),), (414, 608, 920), _C, 0.8),
    StateInfo("WY", "Wyoming", 0.6, ((820, 831),), (307,), _M, 0.9),
)

CODES: Final[np.ndarray] = np.array([s.code for s in STATES])
POPULATION_WEIGHTS: Final[np.ndarray] = np.array([s.population_m for s in STATES]) / sum(s.population_m for s in STATES)
PRICE_LEVEL: Final[np.ndarray] = np.array([s.price_level for s in STATES])
BY_CODE: Final[dict[str, StateInfo]] = {s.code: s for s in STATES}


def _flatten(values_per_state: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ragged per-state lists as (flat values, offsets, counts) for vectorised picking."""
    counts = np.array([len(v) for v in values_per_state])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.array([x for v in values_per_state for x in v]), offsets, counts


_ZIP3 = _flatten([[p for lo, hi in s.zip3 for p in range(lo, hi + 1)] for s in STATES])
_AREA = _flatten([list(s.area_codes) for s in STATES])


Ragged = tuple[np.ndarray, np.ndarray, np.ndarray]


def pick_per_state(rng: np.random.Generator, state_idx: np.ndarray, table: Ragged) -> np.ndarray:
    """One uniformly chosen entry of each lead's state list, without a Python loop over leads."""
    flat, offsets, counts = table
    pick = (rng.random(state_idx.size) * counts[state_idx]).astype(np.int64)
    return flat[offsets[state_idx] + pick]


def zip_prefixes(rng: np.random.Generator, state_idx: np.ndarray) -> np.ndarray:
    """A 3-digit zip prefix inside each lead's state."""
    return pick_per_state(rng, state_idx, _ZIP3)


def area_codes(rng: np.random.Generator, state_idx: np.ndarray) -> np.ndarray:
    """A telephone area code of each lead's state."""
    return pick_per_state(rng, state_idx, _AREA)
