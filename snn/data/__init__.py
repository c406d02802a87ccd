"""Spike datasets: the SHD/SSC HDF5 layout, binning and batching, and FSDD turned into spikes.

```python
from snn.data import load_sample, bin_spikes, batches

train = load_sample("train")                       # SpikeDataset, SHD layout, 64 channels
binned = bin_spikes(train, dt=5e-3, max_time=1.0)  # uint8 counts [N, 200, 64]
for x, y in batches(binned, batch_size=32, shuffle=True, rng=0):
    ...                                            # x float32 [T, B, 64], y int64 [B]
```

* :class:`SpikeDataset`, :func:`read_spike_hdf5`, :func:`write_spike_hdf5`: one split of a
  data set in the layout of the Heidelberg spiking data sets (``spikes/times`` in seconds,
  ``spikes/units``, ``labels``, ``extra/...``); :func:`load_shd`, :func:`load_ssc` find the
  public files (``.h5``, ``.h5.gz`` or ``.h5.zip``).
* :func:`bin_spikes`, :func:`batches`: dense ``uint8`` counts and time-major torch batches.
* :class:`CochleaConfig`, :func:`audio_to_spikes`: gammatone filterbank + LIF encoder;
  :func:`convert_fsdd`, :func:`load_fsdd`, :func:`load_sample`: the Free Spoken Digit Dataset.
* encoders (:mod:`snn.data.encoders`): :func:`rate_encode` (Bernoulli),
  :func:`images_to_events` (latency or Poisson), :func:`lif_encode` (the engine's LIF neuron,
  :func:`lif_encoder_params`).
* :class:`Task`, :func:`permuted_digits_tasks`, :func:`split_digits_tasks`,
  :func:`split_fsdd_tasks`, :func:`permuted_tasks`, :func:`split_tasks` (:mod:`snn.data.tasks`):
  continual-learning task sequences (sklearn's digits, FSDD, any arrays);
  :func:`digits_events`: sklearn's digits as spike events.
* :class:`LogMelConfig`, :func:`log_mel`, :func:`mel_filterbank`,
  :func:`load_speech_commands`, :func:`speech_commands_files`, :func:`speech_commands_noise`,
  :data:`GSC_CLASSES` (:mod:`snn.data.speech_commands`): Google Speech Commands v0.02 and the
  delay paper's log-mel front end (float frames in a :class:`BinnedSpikes`).
* :func:`read_idx`, :func:`write_idx`, :func:`load_mnist_idx`: MNIST's IDX files.
* :func:`load_nmnist`, :func:`load_ntidigits`, :func:`read_nmnist_bin`,
  :func:`write_nmnist_bin`, :func:`read_ntidigits`, :func:`events_to_dataset`
  (:mod:`snn.data.events`): N-MNIST / N-TIDIGITS files as tonic-style event arrays.
* :func:`memory_capacity_input`, :func:`delayed_targets`, :func:`narma10`,
  :func:`mackey_glass`: time-series tasks for reservoirs.
* :class:`MackeyGlassProtocol`, :func:`mackey_glass_protocol_series`,
  :func:`mackey_glass_run`: NeuroBench's Mackey-Glass task, its series regenerated here.
* :func:`yin_yang`, :func:`yin_yang_splits`, :func:`yin_yang_class`: the Yin-Yang data set
  (Kriener et al. 2021) from its published description and seeds.
* :func:`speech_commands_audio`: the raw 1 s clips of Speech Commands (NeuroBench's
  keyword-spotting data, ``$SNNSIM_SPEECH_COMMANDS_ROOT``).
* :func:`read_primate_reaching`: a non-human primate reaching session (O'Doherty et al.
  2017) in its public MATLAB v7.3 layout, binned (NeuroBench's motor prediction data).
* :func:`load_dvs_gesture`, :func:`read_aedat_polarity`: IBM DVS Gesture in its public
  layout (AEDAT 3.1 recordings, label files, split lists).
* :func:`load_mswc_fscil`, :func:`mswc_fscil_files`: the MSWC keyword subset of NeuroBench's
  few-shot class-incremental task, in its published layout (16 kHz wav).
* :func:`verify_checksum`: check a download against the manifests in ``datasets/``.
"""

from .binning import Batches, BinnedSpikes, batches, bin_spikes
from .cochlea import (
    CochleaConfig,
    audio_to_spikes,
    centre_frequencies,
    cochlea_drive,
    erb,
    erb_rate,
    gammatone_response,
)
from .dvs_gesture import DVS_GESTURE_ENV, GestureSample, load_dvs_gesture, read_aedat_polarity
from .encoders import images_to_events, lif_encode, lif_encoder_params, rate_encode
from .events import (
    events_to_dataset,
    load_nmnist,
    load_ntidigits,
    read_nmnist_bin,
    read_ntidigits,
    write_nmnist_bin,
)
from .fsdd import convert_fsdd, fsdd_checksum, load_fsdd, load_sample, read_wav
from .idx import load_mnist_idx, read_idx, write_idx
from .mackey_glass_protocol import (
    MackeyGlassProtocol,
    MackeyGlassRun,
    mackey_glass_protocol_series,
    mackey_glass_run,
)
from .mswc import MSWC_ENV, load_mswc_fscil, mswc_fscil_files
from .primate_reaching import (
    PRIMATE_REACHING_ENV,
    PRIMATE_REACHING_FILES,
    ReachingSession,
    read_primate_reaching,
)
from .speech_commands import (
    GSC_CLASSES,
    SPEECH_COMMANDS_ENV,
    LogMelConfig,
    load_speech_commands,
    log_mel,
    mel_filterbank,
    speech_commands_audio,
    speech_commands_files,
    speech_commands_noise,
)
from .spikes import (
    SpikeDataset,
    data_cache_dir,
    file_checksum,
    load_shd,
    load_ssc,
    read_spike_hdf5,
    verify_checksum,
    write_spike_hdf5,
)
from .tasks import (
    Task,
    digits_arrays,
    digits_events,
    low_rank,
    permuted_digits_tasks,
    permuted_tasks,
    split_digits_tasks,
    split_fsdd_tasks,
    split_tasks,
)
from .timeseries import delayed_targets, mackey_glass, memory_capacity_input, narma10
from .yin_yang import YIN_YANG_SPLITS, yin_yang, yin_yang_class, yin_yang_splits

__all__ = [
    "Batches",
    "BinnedSpikes",
    "CochleaConfig",
    "DVS_GESTURE_ENV",
    "GestureSample",
    "MSWC_ENV",
    "MackeyGlassProtocol",
    "MackeyGlassRun",
    "PRIMATE_REACHING_ENV",
    "PRIMATE_REACHING_FILES",
    "ReachingSession",
    "SPEECH_COMMANDS_ENV",
    "GSC_CLASSES",
    "LogMelConfig",
    "SpikeDataset",
    "Task",
    "YIN_YANG_SPLITS",
    "audio_to_spikes",
    "batches",
    "bin_spikes",
    "centre_frequencies",
    "cochlea_drive",
    "convert_fsdd",
    "data_cache_dir",
    "delayed_targets",
    "digits_arrays",
    "digits_events",
    "erb",
    "erb_rate",
    "events_to_dataset",
    "file_checksum",
    "fsdd_checksum",
    "gammatone_response",
    "images_to_events",
    "lif_encode",
    "lif_encoder_params",
    "load_dvs_gesture",
    "load_fsdd",
    "load_mnist_idx",
    "load_nmnist",
    "load_ntidigits",
    "load_mswc_fscil",
    "load_sample",
    "load_shd",
    "load_speech_commands",
    "load_ssc",
    "log_mel",
    "low_rank",
    "mackey_glass",
    "mackey_glass_protocol_series",
    "mackey_glass_run",
    "mel_filterbank",
    "memory_capacity_input",
    "mswc_fscil_files",
    "narma10",
    "permuted_digits_tasks",
    "permuted_tasks",
    "rate_encode",
    "read_aedat_polarity",
    "read_idx",
    "read_nmnist_bin",
    "read_ntidigits",
    "read_primate_reaching",
    "read_spike_hdf5",
    "read_wav",
    "speech_commands_files",
    "speech_commands_audio",
    "speech_commands_noise",
    "split_digits_tasks",
    "split_fsdd_tasks",
    "split_tasks",
    "verify_checksum",
    "write_idx",
    "write_nmnist_bin",
    "write_spike_hdf5",
    "yin_yang",
    "yin_yang_class",
    "yin_yang_splits",
]
