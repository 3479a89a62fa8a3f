"""Hooks that act on the registering thread's forwards only (srgan/hooks.py)."""

from __future__ import annotations

import threading

import pytest
import torch
from conftest import trained_like_generator as make_generator

from srgan import architecture as arch
from srgan.hooks import hooks_on_this_thread


def test_another_threads_pass_neither_runs_nor_feels_the_hooks():
    generator = make_generator().eval()
    lr_image = torch.rand(1, 3, 12, 12)
    with torch.inference_mode():
        expected = generator(lr_image)
    seen, other = [], {}
    inside, release = threading.Event(), threading.Event()

    def switch_off_block_1(module, inputs, output):
        seen.append(threading.get_ident())
        return inputs[0]  # replaces the output, as the ablation does

    def other_request():
        inside.wait(timeout=30)
        with torch.inference_mode():
            other["out"] = generator(lr_image)  # a second student's pass while the hook is registered
        release.set()

    thread = threading.Thread(target=other_request)
    thread.start()
    with hooks_on_this_thread([(generator.residual_blocks[0], switch_off_block_1)]), torch.inference_mode():
        inside.set()
        assert release.wait(timeout=60)
        ablated = generator(lr_image)
    thread.join(timeout=60)
    assert torch.equal(other["out"], expected)  # the other pass: the intact network
    assert seen == [threading.get_ident()]  # the hook ran once, on this thread's pass
    assert not torch.allclose(ablated, expected)  # and it did switch the block off here
    assert not generator.residual_blocks[0]._forward_hooks  # removed on the way out


def test_the_hooks_are_removed_when_the_pass_raises():
    generator = make_generator().eval()

    def fails(module, inputs, output):
        raise RuntimeError("a hook failed")

    with pytest.raises(RuntimeError, match="a hook failed"), hooks_on_this_thread([(generator.head, fails)]):
        generator(torch.rand(1, 3, 8, 8))
    assert not generator.head._forward_hooks


def test_a_walk_and_an_ablation_beside_other_passes_give_what_they_give_alone():
    generator = make_generator().eval()
    small, large = torch.rand(1, 3, 12, 12), torch.rand(1, 3, 32, 32)
    walk_alone = arch.walk(generator, large)
    ablated_alone = arch.ablated_output(generator, small, off=[2], long_skip=False)
    errors, stop = [], threading.Event()

    def other_requests():
        try:
            while not stop.is_set():
                with torch.inference_mode():
                    generator(small)
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    thread = threading.Thread(target=other_requests)
    thread.start()
    try:
        for _ in range(3):
            walk = arch.walk(generator, large)
            ablated = arch.ablated_output(generator, small, off=[2], long_skip=False)
            assert torch.equal(walk.output, walk_alone.output) and torch.equal(ablated, ablated_alone)
            assert [a.shape for a in walk.acts] == [a.shape for a in walk_alone.acts]
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors
