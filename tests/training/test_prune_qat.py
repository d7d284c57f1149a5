from __future__ import annotations

import pytest
import torch

from pipeline.models import build_model, count_macs, count_params, load_model, save_model, student_spec
from pipeline.models.surgery import channel_slots
from pipeline.training import qat
from pipeline.training.loop import Split
from pipeline.training.prune import prune


@pytest.mark.parametrize("shape,family", [((1, 8, 8), "dscnn"), ((1, 40), "cnn1d"), ((1, 40), "mlp")])
@pytest.mark.parametrize("importance", ["l1", "bn"])
def test_pruning_removes_channels(tmp_path, shape, family, importance):
    torch.manual_seed(0)
    model = build_model(student_spec(shape, 10, family, 1.0, 4))
    p0, m0 = count_params(model), count_macs(model, shape)
    calls = []
    result = prune(model, 0.3, 0.1, importance, "params", finetune=lambda m, k: calls.append(k) or m)
    pruned = result.model
    p1, m1 = count_params(pruned), count_macs(pruned, shape)
    assert calls == [1, 2, 3]
    assert abs((1 - p1 / p0) - 0.3) <= 0.05
    assert abs((1 - m1 / m0) - 0.3) <= 0.05
    assert sum(channel_slots(pruned.spec)) < sum(channel_slots(model.spec))
    # a genuinely smaller dense network that load_model rebuilds
    path = save_model(pruned, pruned.spec, tmp_path / "p.pt")
    again = load_model(path)
    x = torch.randn(3, *shape)
    pruned.eval()
    assert torch.allclose(again(x), pruned(x))
    assert count_params(again) == p1


def test_pruning_by_macs_and_kept_channels_are_the_important_ones():
    torch.manual_seed(0)
    shape = (1, 40)
    model = build_model(student_spec(shape, 10, "cnn1d", 1.0, 3))
    m0 = count_macs(model, shape)
    pruned = prune(model, 0.5, 0.5, "l1", "macs").model
    assert abs((1 - count_macs(pruned, shape) / m0) - 0.5) <= 0.05
    # a single step keeps the top-L1 filters of the first layer
    w = model.layers[0].conv.weight.detach().abs().flatten(1).sum(1)
    n = pruned.spec["layers"][0]["channels"]
    kept = torch.topk(w, n).indices.sort().values
    assert torch.equal(pruned.layers[0].conv.weight.detach(), model.layers[0].conv.weight.detach()[kept])


def test_qat_prepare_export_weights_on_int8_grid(tmp_path):
    torch.manual_seed(0)
    shape = (1, 8, 8)
    model = build_model(student_spec(shape, 10, "dscnn", 0.5, 3))
    x = torch.randn(64, *shape)
    y = torch.randint(0, 10, (64,))
    q = qat.prepare(model)
    qat.calibrate(q, x)
    q.train()
    opt = torch.optim.SGD(q.parameters(), lr=0.01)
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(q(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    q.eval()
    out = qat.export(q)
    assert out.spec["bn"] is False and out.spec["qat"] is True
    for m in out.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            w = m.weight.detach().flatten(1)
            scale = w.abs().amax(1, keepdim=True) / 127
            steps = w / scale
            assert torch.allclose(steps, steps.round(), atol=1e-3)
    path = save_model(out, out.spec, tmp_path / "q.pt")
    again = load_model(path)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in again.modules())
    assert torch.allclose(again(x), out(x))
    acc = qat.simulate_int8(again, x, Split(x, y))
    assert 0.0 <= acc <= 1.0


def test_simulated_int8_close_to_float():
    torch.manual_seed(0)
    shape = (1, 40)
    model = build_model(student_spec(shape, 10, "cnn1d", 1.0, 3)).eval()
    x = torch.randn(128, *shape)
    y = model(x).argmax(1)
    assert qat.simulate_int8(model, x, Split(x, y)) > 0.85  # int8 keeps most argmax decisions
