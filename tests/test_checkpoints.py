import pickle

import pytest
import torch

from srgan.checkpoints import (
    DENSE_LAYER,
    CheckpointError,
    load_checkpoint,
    load_discriminator,
    load_generator,
    load_pretrained,
    low_rank_factors,
    read_metadata,
    resolve,
    save_checkpoint,
)
from srgan.models import Discriminator, Generator


def test_round_trip_keeps_weights_and_metadata(tmp_path, tiny_generator):
    path = tmp_path / "g.safetensors"
    save_checkpoint(tiny_generator, path, recipe={"preset": "srresnet", "steps_done": 5}, metrics={"psnr_y": 25.0})
    model, meta = load_generator(path)
    assert meta["kind"] == "generator" and meta["recipe"]["steps_done"] == 5 and meta["metrics"]["psnr_y"] == 25.0
    assert meta["config"] == {"scale": 4, "num_residual_blocks": 2, "channels": 16}
    for (k, a), b in zip(tiny_generator.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), k
    assert not model.training


def test_half_precision_on_disk_loads_as_fp32(tmp_path, tiny_generator):
    path = tmp_path / "g16.safetensors"
    save_checkpoint(tiny_generator, path, half=True)
    state, _ = load_checkpoint(path)
    assert all(v.dtype == torch.float32 for k, v in state.items() if "num_batches" not in k)
    w = tiny_generator.state_dict()["head.0.weight"]
    assert torch.allclose(state["head.0.weight"], w, atol=1e-3)


def test_tampered_weights_are_detected(tmp_path, tiny_generator):
    from safetensors.torch import load_file, save_file

    path = tmp_path / "g.safetensors"
    meta = save_checkpoint(tiny_generator, path)
    state = load_file(str(path))
    state["tail.bias"] += 1
    save_file(state, str(path), metadata=meta)
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(path)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))  # would create the marker file if unpickled


def test_malicious_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"head.0.weight": _Exploit(marker)}, f)
    zipped = tmp_path / "evil.pt"  # torch.save's zip format, the usual way such files arrive
    torch.save({"head.0.weight": _Exploit(marker)}, zipped)
    for candidate in (path, zipped):
        with pytest.raises(CheckpointError, match="refused"):
            load_checkpoint(candidate)
    assert not marker.exists()


def test_pth_state_dict_loads_weights_only(tmp_path, tiny_generator):
    path = tmp_path / "plain.pth"
    torch.save(tiny_generator.state_dict(), path)
    model, _ = load_generator(path)  # architecture inferred from the keys
    assert model.config.num_residual_blocks == 2 and model.config.channels == 16


def test_wrong_architecture_gets_a_clear_message(tmp_path):
    path = tmp_path / "d.safetensors"
    save_checkpoint(Discriminator(channels=4, dense_features=8), path)
    with pytest.raises(CheckpointError, match="not a generator"):
        load_generator(path)
    bad = tmp_path / "bad.pth"
    state = Generator(num_residual_blocks=2, channels=16).state_dict()
    state["tail.weight"] = torch.zeros(3, 16, 3, 3)
    torch.save(state, bad)
    with pytest.raises(CheckpointError, match="wrong shape"):
        load_generator(bad)


def test_not_a_checkpoint(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"hello world, not a checkpoint")
    with pytest.raises(CheckpointError):
        load_checkpoint(junk)


def test_load_pretrained_refuses_untrained_weights_and_unknown_names(tmp_path, tiny_generator):
    path = tmp_path / "untrained.safetensors"
    save_checkpoint(tiny_generator, path, recipe={"steps_done": 0})
    with pytest.raises(CheckpointError, match="untrained"):
        load_pretrained(path)
    with pytest.raises(CheckpointError, match="no such model"):
        load_pretrained("nonexistent-model")


def test_load_pretrained_is_cached(tiny_checkpoint):
    assert load_pretrained(tiny_checkpoint) is load_pretrained(tiny_checkpoint)
    assert read_metadata(tiny_checkpoint)["recipe"]["steps_done"] == 1


def test_low_rank_factors_are_the_truncated_svd():
    """Eckart–Young: the rank-r error is the root of the discarded singular values' squares, and no less."""
    weight = torch.randn(40, 90, generator=torch.Generator().manual_seed(0))
    u, v = low_rank_factors(weight, 12)
    assert u.shape == (40, 12) and v.shape == (12, 90)
    s = torch.linalg.svdvals(weight.double())
    assert torch.linalg.norm(weight - u @ v).item() == pytest.approx(float(s[12:].square().sum().sqrt()), rel=1e-5)
    assert not torch.allclose(u @ v, weight, atol=1e-2)  # rank 12 of 40 is an approximation
    u, v = low_rank_factors(weight, 40)  # full rank: exact
    assert torch.allclose(u @ v, weight, atol=1e-4)
    with pytest.raises(ValueError, match="rank"):
        low_rank_factors(weight, 41)


def test_discriminator_with_a_low_rank_dense_layer(tmp_path):
    """Stored as two factors (smaller file, still digest-checked), loaded back as the full dense layer."""
    from safetensors.torch import load_file, save_file

    d = Discriminator(channels=4, dense_features=64).eval()  # dense: 32·6·6 = 1152 -> 64
    whole, factored = tmp_path / "d.safetensors", tmp_path / "d_rank8.safetensors"
    save_checkpoint(d, whole)
    meta = save_checkpoint(d, factored, dense_rank=8)
    assert factored.stat().st_size < whole.stat().st_size
    stored = load_file(str(factored))
    assert DENSE_LAYER not in stored and stored[DENSE_LAYER + "_u"].shape == (64, 8)
    loaded, meta_read = load_discriminator(factored)
    assert meta_read["dense_rank"] == "8"
    w = loaded.state_dict()[DENSE_LAYER]
    assert w.shape == (64, 1152) and torch.linalg.matrix_rank(w).item() == 8
    u, v = low_rank_factors(d.state_dict()[DENSE_LAYER], 8)
    assert torch.allclose(w, u @ v, atol=1e-6)
    assert torch.equal(loaded.state_dict()["features.0.0.weight"], d.state_dict()["features.0.0.weight"])
    stored[DENSE_LAYER + "_v"] *= 2  # an edited factor is caught like any edited tensor
    save_file(stored, str(factored), metadata=meta)
    with pytest.raises(CheckpointError, match="sha256"):
        load_discriminator(factored)
    with pytest.raises(ValueError, match="discriminator"):
        save_checkpoint(Generator(num_residual_blocks=1, channels=8), tmp_path / "g.safetensors", dense_rank=4)


def test_bundled_discriminator_is_the_papers_d_from_a_small_file():
    path = resolve("srgan_discriminator")
    assert path.stat().st_size < 20e6
    d, meta = load_discriminator(path)
    assert d.state_dict()[DENSE_LAYER].shape == (1024, 512 * 6 * 6)
    assert int(meta["dense_rank"]) <= 256
    held_out = meta["metrics"]
    assert held_out["heldout"]["accuracy_hr_vs"]["srgan"] >= held_out["heldout_full_rank"]["accuracy_hr_vs"]["srgan"] - 0.03
