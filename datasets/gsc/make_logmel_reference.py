"""Writes ``logmel_reference_torchaudio.npz``: the delay paper's GSC front end computed by
torchaudio (``Resample``, ``Spectrogram``, ``MelScale``, ``AmplitudeToDB`` with the settings of
``Thvnvtos/SNN-delays``, ``datasets.py``) on a fixed test signal, for
``tests/test_speech_commands.py`` to compare :func:`snn.data.log_mel` against.

Needs torchaudio (not a dependency of this project):  python datasets/gsc/make_logmel_reference.py
"""

from pathlib import Path

import numpy as np
import torch
import torchaudio
from torchaudio.transforms import AmplitudeToDB, MelScale, Resample, Spectrogram


def test_signal() -> np.ndarray:
    """0.875 s at 16 kHz (padded to 1 s by the front end): a chirp from 300 Hz plus noise."""
    rng = np.random.default_rng(0)
    t = np.arange(14000) / 16000
    x = 0.3 * np.sin(2 * np.pi * (300 + 2000 * t) * t) + 0.05 * rng.standard_normal(t.size)
    return x.astype(np.float32)


def main() -> None:
    x = test_signal()
    wave = torch.nn.functional.pad(torch.from_numpy(x)[None], (0, 16000 - x.size))
    wave = Resample(16000, 8000)(wave)
    power = Spectrogram(n_fft=256, hop_length=80, power=2)(wave)
    bands = MelScale(n_mels=140, sample_rate=8000, f_min=50, f_max=14000, n_stft=129)(power)
    db = AmplitudeToDB()(bands)[0].T.numpy()                     # [101 frames, 140 bands]
    out = Path(__file__).with_name("logmel_reference_torchaudio.npz")
    np.savez_compressed(out, waveform=x, log_mel=db.astype(np.float32),
                        torchaudio_version=np.array(torchaudio.__version__))
    print(f"wrote {out}: {db.shape}")


if __name__ == "__main__":
    main()
