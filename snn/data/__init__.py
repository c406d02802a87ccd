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
* :func:`memory_capacity_input`, :func:`delayed_targets`, :func:`narma10`,
  :func:`mackey_glass`: time-series tasks for reservoirs.
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
from .encoders import images_to_events, lif_encode, lif_encoder_params, rate_encode
from .fsdd import convert_fsdd, fsdd_checksum, load_fsdd, load_sample, read_wav
from .idx import load_mnist_idx, read_idx, write_idx
from .speech_commands import (
    GSC_CLASSES,
    LogMelConfig,
    load_speech_commands,
    log_mel,
    mel_filterbank,
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

__all__ = [
    "Batches",
    "BinnedSpikes",
    "CochleaConfig",
    "GSC_CLASSES",
    "LogMelConfig",
    "SpikeDataset",
    "Task",
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
    "file_checksum",
    "fsdd_checksum",
    "gammatone_response",
    "images_to_events",
    "lif_encode",
    "lif_encoder_params",
    "load_fsdd",
    "load_mnist_idx",
    "load_sample",
    "load_shd",
    "load_speech_commands",
    "load_ssc",
    "log_mel",
    "low_rank",
    "mackey_glass",
    "mel_filterbank",
    "memory_capacity_input",
    "narma10",
    "permuted_digits_tasks",
    "permuted_tasks",
    "rate_encode",
    "read_idx",
    "read_spike_hdf5",
    "read_wav",
    "speech_commands_files",
    "speech_commands_noise",
    "split_digits_tasks",
    "split_fsdd_tasks",
    "split_tasks",
    "verify_checksum",
    "write_idx",
    "write_spike_hdf5",
]
