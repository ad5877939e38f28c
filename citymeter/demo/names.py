"""Fictional Korean place names with their Revised Romanization, for the demo city."""

from __future__ import annotations

import numpy as np

CITY_NAME_KO = "한빛특별시"
CITY_NAME_EN = "Hanbit Metropolitan City"

# Two-syllable native and Sino-Korean words that read naturally as place names.
STEMS: tuple[tuple[str, str], ...] = (
    ("가람", "Garam"),
    ("가온", "Gaon"),
    ("한솔", "Hansol"),
    ("새빛", "Saebit"),
    ("누리", "Nuri"),
    ("다솜", "Dasom"),
    ("미르", "Mireu"),
    ("푸른", "Pureun"),
    ("해솔", "Haesol"),
    ("별빛", "Byeolbit"),
    ("은하", "Eunha"),
    ("청라", "Cheongna"),
    ("송림", "Songnim"),
    ("백운", "Baegun"),
    ("금빛", "Geumbit"),
    ("단풍", "Danpung"),
    ("동백", "Dongbaek"),
    ("매화", "Maehwa"),
    ("목련", "Mongnyeon"),
    ("버들", "Beodeul"),
    ("새말", "Saemal"),
    ("샘골", "Saemgol"),
    ("솔내", "Sollae"),
    ("아라", "Ara"),
    ("여울", "Yeoul"),
    ("연화", "Yeonhwa"),
    ("오름", "Oreum"),
    ("은행", "Eunhaeng"),
    ("이슬", "Iseul"),
    ("잔디", "Jandi"),
    ("진달", "Jindal"),
    ("초록", "Chorok"),
    ("하늘", "Haneul"),
    ("한울", "Hanul"),
    ("햇살", "Haetsal"),
    ("호수", "Hosu"),
    ("다래", "Darae"),
    ("모란", "Moran"),
    ("보람", "Boram"),
    ("봄내", "Bomnae"),
    ("사랑", "Sarang"),
    ("새솔", "Saesol"),
    ("서리", "Seori"),
    ("소담", "Sodam"),
    ("솔밭", "Solbat"),
    ("수정", "Sujeong"),
    ("신록", "Sillok"),
    ("아름", "Areum"),
    ("온누", "Onnu"),
    ("우리", "Uri"),
    ("은솔", "Eunsol"),
    ("자운", "Jaun"),
    ("채운", "Chaeun"),
    ("청솔", "Cheongsol"),
    ("큰골", "Keungol"),
    ("태평", "Taepyeong"),
    ("평화", "Pyeonghwa"),
    ("한결", "Hangyeol"),
    ("해오", "Haeo"),
    ("화랑", "Hwarang"),
    ("갈매", "Galmae"),
    ("고운", "Goun"),
    ("구름", "Gureum"),
    ("나래", "Narae"),
    ("노을", "Noeul"),
    ("달빛", "Dalbit"),
    ("들꽃", "Deulkkot"),
    ("마루", "Maru"),
    ("물빛", "Mulbit"),
    ("바람", "Baram"),
)


def district_names(count: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """`count` distinct district names, e.g. ("한솔구", "Hansol-gu")."""
    order = rng.permutation(len(STEMS))[:count]
    return [(f"{STEMS[i][0]}구", f"{STEMS[i][1]}-gu") for i in order]


def neighbourhood_names(count: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """`count` names distinct within one district; like real ones, some stems are numbered
    ("가람1동", "가람2동")."""
    stems = [STEMS[i] for i in rng.permutation(len(STEMS))]
    names: list[tuple[str, str]] = []
    i = 0
    while len(names) < count:
        ko, en = stems[i % len(stems)]
        i += 1
        left = count - len(names)
        parts = min(left, int(rng.choice([1, 1, 1, 2, 2, 3])))
        if parts == 1:
            names.append((f"{ko}동", f"{en}-dong"))
        else:
            names.extend((f"{ko}{n}동", f"{en} {n}-dong") for n in range(1, parts + 1))
    return names
