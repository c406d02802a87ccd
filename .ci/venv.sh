# Sourced by .ci/run and the README commands: create or reuse a virtualenv outside the clone,
# keyed on the hash of pyproject.toml, with the CPU build of torch and the test extras.
snnsim_activate_venv() {
    local key cache venv
    key=$(sha256sum pyproject.toml | cut -c1-16)
    cache="${SNNSIM_VENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/snnsim-venvs}"
    venv="$cache/venv-$key"
    if [ ! -f "$venv/.complete" ]; then
        rm -rf "$venv"
        mkdir -p "$cache"
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install -q --upgrade pip
        # The CPU wheel of torch 2.13.0 is on this machine's disk; ask for it first so that
        # nothing later pulls a CUDA build.
        "$venv/bin/python" -m pip install -q "torch==2.13.0"
        "$venv/bin/python" -m pip install -q -e ".[test,bench,docs,neurobench]"
        # SpikingJelly declares torchvision/torchaudio, which would drag in a CUDA torch.
        "$venv/bin/python" -m pip install -q --no-deps "spikingjelly==2.0.0" loguru
        # NeuroBench declares torchaudio and tonic, which its harness never imports (see the
        # 'neurobench' extra in pyproject.toml): install it alone.
        "$venv/bin/python" -m pip install -q --no-deps "neurobench==2.3.0"
        touch "$venv/.complete"
    else
        # Re-link the editable install to this clone (the cache may have been built elsewhere).
        "$venv/bin/python" -m pip install -q --no-deps -e .
    fi
    # shellcheck disable=SC1091
    source "$venv/bin/activate"
}
