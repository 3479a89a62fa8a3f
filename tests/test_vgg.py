import socket
import time

import pytest
import torch

from srgan import vgg


def test_layer_names_follow_torchvision_indices():
    assert vgg.layer_index("relu2_2") == 8 and vgg.layer_index("vgg22") == 8
    assert vgg.layer_index("relu5_4") == 35 and vgg.layer_index("VGG54") == 35
    assert len(vgg.LAYER_NAMES) == 37
    with pytest.raises(ValueError, match="unknown VGG19 layer"):
        vgg.layer_index("relu6_1")


def test_the_download_address_is_torchvisions():
    from torchvision.models import VGG19_Weights

    assert vgg.VGG19_URL == VGG19_Weights.IMAGENET1K_V1.url


def test_the_random_vgg_is_initialised_as_torchvision_does_and_the_same_each_time():
    a, b = vgg._vgg19_features(), vgg._vgg19_features()
    convs = [m for m in a if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 16 and all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    last = convs[-1]  # kaiming_normal_(mode="fan_out"): std = sqrt(2 / (512 * 3 * 3)); zero biases
    assert abs(last.weight.std().item() / (2 / (512 * 9)) ** 0.5 - 1) < 0.01 and not last.bias.any()


def test_offline_falls_back_to_a_random_vgg_that_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("SRGAN_OFFLINE", "1")
    monkeypatch.delenv("SRGAN_VGG19_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    source = vgg.resolve_vgg19_weights()
    assert not source.pretrained and "random" in source.description.lower()
    features = vgg.VGGFeatures("relu2_2", weights=source)
    assert features.pretrained is False and "NOT ImageNet" in features.source
    assert features(torch.zeros(1, 3, 32, 32)).shape == (1, 128, 16, 16)


def test_all_layers_stops_at_the_layer_asked_for(monkeypatch, tmp_path):
    monkeypatch.setenv("SRGAN_OFFLINE", "1")
    monkeypatch.delenv("SRGAN_VGG19_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    features = vgg.VGGFeatures("relu3_1", weights=vgg.resolve_vgg19_weights())
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    every = features.all_layers(image)
    assert list(every) == list(vgg.LAYER_NAMES[:12]) and torch.equal(every["relu3_1"], features(image))
    early = features.all_layers(image, until="relu2_2")
    assert list(early) == list(vgg.LAYER_NAMES[:9]) and torch.equal(early["relu2_2"], every["relu2_2"])


def test_unreachable_network_gives_up_within_seconds(monkeypatch, tmp_path):
    monkeypatch.delenv("SRGAN_OFFLINE", raising=False)
    monkeypatch.delenv("SRGAN_VGG19_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def hang(*args, **kwargs):  # a network that never answers (like a blackholed DNS lookup)
        time.sleep(60)
        raise TimeoutError("timed out")  # what the real call raises in the end, after the test is over

    monkeypatch.setattr(socket, "create_connection", hang)
    start = time.monotonic()
    source = vgg.resolve_vgg19_weights(timeout=1.0)
    assert time.monotonic() - start < 3 and not source.pretrained


def test_explicit_weights_path_and_hub_cache(monkeypatch, tmp_path):
    from torchvision.models import vgg19

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    path = tmp_path / "my_vgg19.pth"
    torch.manual_seed(1)
    net = vgg19(weights=None).eval()
    torch.save(net.state_dict(), path)  # torchvision's format: features and classifier
    source = vgg.resolve_vgg19_weights(path)
    assert source.pretrained and source.path == path
    features = vgg.VGGFeatures("relu5_4", weights=source)  # loads the convolutions, leaves the classifier
    image = torch.rand(1, 3, 32, 32) * 2 - 1
    normalised = ((image + 1) / 2 - features.mean) / features.std
    with torch.no_grad():
        assert torch.equal(features(image), net.features[:36](normalised))
    monkeypatch.setenv("SRGAN_VGG19_WEIGHTS", str(path))
    assert vgg.resolve_vgg19_weights().path == path
    monkeypatch.delenv("SRGAN_VGG19_WEIGHTS")
    cached = tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(path.read_bytes())
    assert vgg.resolve_vgg19_weights().path == cached
    with pytest.raises(FileNotFoundError):
        vgg.resolve_vgg19_weights(tmp_path / "missing.pth")
