"""chainrule.nn.Module: registration, traversal, state dicts, modes, pytree behaviour, functional_call, containers,
initialisation."""
import math
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import init


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.fc2 = nn.Linear(4, 2, bias=False)
        self.scale = nn.Parameter(cr.ones(1))
        self.register_buffer("step", cr.zeros(1))
        self.register_buffer("cache", cr.zeros(2), persistent=False)
        self.note = "not state"

    def forward(self, x):
        return self.fc2(nn.functional.relu(self.bn(self.fc1(x)))) * self.scale


# ---------------------------------------------------------------------------------------------------------
# Registration and traversal
# ---------------------------------------------------------------------------------------------------------

def test_registration_and_named_parameters_order():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias",
                                                      "fc2.weight"]
    assert [n for n, _ in net.named_buffers()] == ["step", "cache", "bn.running_mean", "bn.running_var",
                                                   "bn.num_batches_tracked"]
    assert [n for n, _ in net.named_children()] == ["fc1", "bn", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "bn", "fc2"]
    assert list(net.modules())[1] is net.fc1
    assert list(net.children()) == [net.fc1, net.bn, net.fc2]
    assert net.num_parameters() == 1 + 16 + 8 + 8
    assert net.num_parameters(only_trainable=True) == 33
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert net.get_submodule("bn") is net.bn and net.get_parameter("fc1.bias") is net.fc1.bias
    assert net.get_buffer("bn.running_mean") is net.bn.running_mean
    with pytest.raises(AttributeError, match="Net has no submodule `nope`"):
        net.get_submodule("nope.x")


def test_attribute_reassignment_and_deletion():
    net = Net()
    net.fc1 = nn.Linear(3, 4)                       # replacing a submodule keeps its slot
    assert [n for n, _ in net.named_children()][0] == "fc1"
    net.scale = nn.Parameter(cr.zeros(1))
    assert net.scale.item() == 0.0
    with pytest.raises(TypeError, match=r"cannot assign 'Tensor' as parameter 'scale' \(chainrule.nn.Parameter or "
                                        r"None expected\)"):
        net.scale = cr.zeros(1)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'fc2'"):
        net.fc2 = 3
    net.fc2 = None
    assert "fc2.weight" not in dict(net.named_parameters())
    del net.scale
    assert "scale" not in dict(net.named_parameters())
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'scale'"):
        net.scale


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_modules()] == ["", "0", "1"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_register_errors():
    m = nn.Module()
    with pytest.raises(KeyError, match='parameter name can.+t contain ".", got: a.b'):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="cannot assign 'ndarray' object to parameter 'w'"):
        m.register_parameter("w", np.zeros(2))
    m.x = 1
    with pytest.raises(KeyError, match="attribute 'x' already exists"):
        m.register_buffer("x", cr.zeros(1))

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(cr.zeros(1))
    with pytest.raises(AttributeError, match="cannot assign Parameter 'w' before Module.__init__\\(\\) call"):
        Early()
    with pytest.raises(NotImplementedError, match='Module \\[Module\\] is missing the required "forward" function'):
        nn.Module()(1)


def test_parameter_and_buffer_classes():
    p = nn.Parameter(cr.tensor([1.0, 2.0]))
    assert p.requires_grad and p.is_leaf and isinstance(p, cr.Tensor)
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.]")
    assert not nn.Parameter(cr.zeros(1), requires_grad=False).requires_grad
    q = pickle.loads(pickle.dumps(p))
    assert isinstance(q, nn.Parameter) and q.requires_grad and q.tolist() == [1.0, 2.0]

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.b = nn.Buffer(cr.ones(2), persistent=False)
    m = M()
    assert [n for n, _ in m.named_buffers()] == ["b"] and list(m.state_dict()) == []


# ---------------------------------------------------------------------------------------------------------
# Modes and bulk operations
# ---------------------------------------------------------------------------------------------------------

def test_train_eval_apply_zero_grad():
    net = Net()
    assert net.training and net.bn.training
    assert net.eval() is net
    assert not net.training and not net.bn.training
    net.train()
    assert net.fc2.training
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "BatchNorm1d", "Linear", "Net"]       # children first, then the parent
    net(cr.randn(5, 3)).sum().backward()
    assert net.fc1.weight.grad is not None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net(cr.randn(5, 3)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all((p.grad.numpy() == 0).all() for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_dtype():
    net = Net().double()
    assert net.fc1.weight.dtype == np.float64 and net.bn.running_mean.dtype == np.float64
    assert net.bn.num_batches_tracked.dtype == np.int64
    assert net(cr.randn(4, 3).double()).dtype == np.float64
    net.float()
    assert net.fc2.weight.dtype == np.float32
    with pytest.raises(NotImplementedError, match="device 'cuda' is not supported"):
        net.to("cuda")


def test_repr_tree():
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Sequential(nn.Flatten(), nn.Linear(8, 2)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Flatten(start_dim=1, end_dim=-1)\n"
        "    (1): Linear(in_features=8, out_features=2, bias=True)\n"
        "  )\n"
        ")")
    assert repr(nn.BatchNorm2d(4)) == "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre"))
    h2 = lin.register_forward_hook(lambda m, args, out: out * 0)
    out = lin(cr.ones(1, 2))
    assert calls == ["pre"] and (out.detach().numpy() == 0).all()
    h1.remove()
    h2.remove()
    assert (lin(cr.ones(1, 2)).detach().numpy() != 0).any()


# ---------------------------------------------------------------------------------------------------------
# State dicts
# ---------------------------------------------------------------------------------------------------------

def test_state_dict_round_trip():
    cr.manual_seed(0)
    a, b = Net(), Net()
    a(cr.randn(6, 3))                               # move a's running statistics
    sd = a.state_dict()
    assert list(sd) == ["scale", "step", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "bn.running_mean",
                        "bn.running_var", "bn.num_batches_tracked", "fc2.weight"]
    assert not sd["fc1.weight"].requires_grad
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), sd[k].numpy())
    x = cr.randn(4, 3)
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    # loading copies: later changes to the source do not leak into the loaded model
    sd["fc1.bias"].data[:] = 123
    assert (b.fc1.bias.numpy() if not b.fc1.bias.requires_grad else b.fc1.bias.detach().numpy()).max() < 100
    # parameters keep their identity (optimizers holding them stay valid)
    w = b.fc1.weight
    b.load_state_dict(Net().state_dict())
    assert b.fc1.weight is w and b.fc1.weight.requires_grad


def test_state_dict_accepts_numpy_arrays():
    lin = nn.Linear(2, 3)
    lin.load_state_dict({"weight": np.ones((3, 2)), "bias": np.zeros(3)})
    assert lin.weight.dtype == np.float32 and (lin.weight.detach().numpy() == 1).all()


def test_strict_load_lists_missing_unexpected_and_mismatched_and_changes_nothing():
    net = Net()
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    sd = {k: v for k, v in Net().state_dict().items() if k not in ("fc1.bias", "bn.running_var")}
    sd["extra.weight"] = cr.zeros(1)
    sd["fc2.weight"] = cr.zeros(3, 3)
    with pytest.raises(RuntimeError) as err:
        net.load_state_dict(sd)
    msg = str(err.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:")
    assert 'Missing key(s) in state_dict: "fc1.bias", "bn.running_var".' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight".' in msg
    assert ("size mismatch for fc2.weight: copying a param with shape (3, 3) from checkpoint, the shape in current "
            "model is (2, 4).") in msg
    for k, v in net.state_dict().items():                      # nothing was written
        np.testing.assert_array_equal(v.numpy(), before[k])
    # non-strict: missing/unexpected are reported, shape mismatches still raise
    del sd["fc2.weight"]
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["fc1.bias", "bn.running_var", "fc2.weight"]
    assert res.unexpected_keys == ["extra.weight"]
    with pytest.raises(RuntimeError, match="size mismatch for fc1.weight"):
        net.load_state_dict({"fc1.weight": np.zeros((1, 1))}, strict=False)
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got list"):
        net.load_state_dict([1, 2])


# ---------------------------------------------------------------------------------------------------------
# Pytrees, transforms, functional_call
# ---------------------------------------------------------------------------------------------------------

def test_module_is_a_pytree():
    net = Net()
    leaves, tdef = cr.tree_flatten(net)
    # parameters and floating buffers are leaves; the integer counter is static
    assert len(leaves) == 6 + 4
    assert leaves[0] is net.scale
    copy = cr.tree_unflatten(tdef, leaves)
    assert type(copy) is Net and copy is not net and copy.fc1 is not net.fc1
    assert copy.fc1.weight is net.fc1.weight and copy.note == "not state"
    doubled = cr.tree_map(lambda p: p * 2, net)
    np.testing.assert_allclose(doubled.fc1.weight.detach().numpy(), 2 * net.fc1.weight.detach().numpy())
    assert isinstance(doubled.bn, nn.BatchNorm1d)


def test_grad_of_loss_returns_model_shaped_gradient():
    cr.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    x, y = np.random.default_rng(0).standard_normal((5, 3)), np.array([0, 1, 1, 0, 1])

    def loss(m, x, y):
        return nn.functional.cross_entropy(m(x), y)

    g = cr.grad(loss)(model, x, y)
    assert type(g) is nn.Sequential and isinstance(g[0], nn.Linear)
    assert g[0].weight.shape == (4, 3) and g[2].bias.shape == (2,)
    # the same gradient as PyTorch-style backward
    loss(model, x, y).backward()
    np.testing.assert_allclose(np.asarray(g[0].weight.detach().numpy()), model[0].weight.grad.numpy(), rtol=1e-12)
    # and a JAX-style update step works through tree_map
    new = cr.tree_map(lambda p, d: p - 0.1 * d, model, g)
    assert type(new) is nn.Sequential
    assert float(loss(new, x, y)) < float(loss(model, x, y))


def test_value_and_grad_and_vmap_over_models():
    cr.manual_seed(2)
    model = nn.Linear(3, 1).double()
    plain = cr.tree_map(lambda p: np.array(p.data), model)            # a model holding NumPy arrays
    xs = np.random.default_rng(1).standard_normal((4, 3))
    value, g = cr.value_and_grad(lambda m: (m(xs) ** 2).sum())(plain)
    assert isinstance(g.weight, np.ndarray) and g.weight.shape == (1, 3)
    np.testing.assert_allclose(g.weight, 2 * ((xs @ plain.weight.T + plain.bias) * xs).sum(0, keepdims=True))
    per_example = cr.vmap(cr.grad(lambda m, x: (m(x) ** 2).sum()), in_axes=(None, 0))(plain, xs)
    np.testing.assert_allclose(per_example.weight.sum(0), g.weight)
    stacked = cr.tree_map(lambda p: np.stack([p, 2 * p]), plain)      # vmap over a batch of models
    outs = cr.vmap(lambda m: m(xs))(stacked)
    assert outs.shape == (2, 4, 1)


def test_functional_call_substitutes_without_mutating():
    lin = nn.Linear(2, 1)
    w0 = lin.weight.detach().numpy().copy()
    out = nn.functional_call(lin, {"weight": np.array([[1.0, 2.0]]), "bias": np.array([0.5])}, np.array([[1.0, 1.0]]))
    np.testing.assert_allclose(out, [[3.5]])
    np.testing.assert_array_equal(lin.weight.detach().numpy(), w0)
    net = Net()
    out = nn.functional_call(net, ({"fc2.weight": np.zeros((2, 4))}, {"bn.running_mean": np.ones(4)}),
                             (cr.randn(3, 3),))
    assert (out.detach().numpy() == 0).all()
    with pytest.raises(KeyError, match=r"functional_call: unexpected key\(s\) \['fc3.weight'\]"):
        nn.functional_call(net, {"fc3.weight": np.zeros(1)}, cr.randn(1, 3))
    with pytest.raises(KeyError, match=r"functional_call: missing key\(s\)"):
        nn.functional_call(lin, {"weight": np.zeros((1, 2))}, cr.ones(1, 2), strict=True)
    with pytest.raises(ValueError, match="'weight' appeared in multiple dictionaries"):
        nn.functional_call(lin, ({"weight": 1}, {"weight": 2}), cr.ones(1, 2))


def test_grad_through_functional_call():
    lin = nn.Linear(2, 1).double()
    params = {k: np.array(v.data) for k, v in lin.named_parameters()}
    x = np.array([[1.0, -2.0]])
    g = cr.grad(lambda p: nn.functional_call(lin, p, x).sum())(params)
    np.testing.assert_allclose(g["weight"], x)
    np.testing.assert_allclose(g["bias"], [1.0])


# ---------------------------------------------------------------------------------------------------------
# Containers
# ---------------------------------------------------------------------------------------------------------

def test_sequential():
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(s) == 3 and isinstance(s[-1], nn.Linear)
    head = s[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is s[0]
    s.append(nn.Sigmoid())
    assert isinstance(s[3], nn.Sigmoid) and s(cr.ones(4, 2)).shape == (4, 1)
    named = nn.Sequential(OrderedDict([("enc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert [n for n, _ in named.named_children()] == ["enc", "act"]
    del s[1]
    assert [n for n, _ in s.named_children()] == ["0", "1", "2"]
    with pytest.raises(IndexError, match="index 5 is out of range for Sequential of length 3"):
        s[5]


def test_module_list_and_dict_and_parameter_containers():
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(2)])
    ml.append(nn.ReLU())
    ml.insert(0, nn.Tanh())
    assert [type(m).__name__ for m in ml] == ["Tanh", "Linear", "Linear", "ReLU"]
    assert len(list(ml.parameters())) == 4 and isinstance(ml[1:3], nn.ModuleList)
    md = nn.ModuleDict({"a": nn.Linear(1, 2)})
    md["b"] = nn.ReLU()
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(md) == 2
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    pl = nn.ParameterList([cr.zeros(2), np.ones(3)])
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"] and isinstance(pl[1], nn.Parameter)
    pd = nn.ParameterDict({"x": cr.ones(1)})
    assert isinstance(pd["x"], nn.Parameter)
    with pytest.raises(NotImplementedError, match="ModuleList has no forward"):
        ml(1)


# ---------------------------------------------------------------------------------------------------------
# Initialisation
# ---------------------------------------------------------------------------------------------------------

def test_fans_and_gains():
    assert init._calculate_fan_in_and_fan_out(cr.empty(5, 3)) == (3, 5)
    assert init._calculate_fan_in_and_fan_out(cr.empty(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed for tensor with fewer than 2 "
                                         "dimensions"):
        init.xavier_uniform_(cr.empty(3))
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("selu") == 0.75 and init.calculate_gain("conv2d") == 1
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")


def _stats(t):
    a = t.numpy() if not t.requires_grad else t.detach().numpy()
    return a.mean(), a.std(), np.abs(a).max()


def test_distributions_match_pytorch_formulas():
    cr.manual_seed(0)
    w = cr.empty(400, 300)
    _, std, top = _stats(init.xavier_uniform_(w, gain=2.0))
    bound = 2.0 * math.sqrt(6 / 700)
    assert top <= bound and abs(std - bound / math.sqrt(3)) < 0.01 * bound
    _, std, _ = _stats(init.xavier_normal_(w))
    assert abs(std - math.sqrt(2 / 700)) < 0.02 * math.sqrt(2 / 700)
    _, std, top = _stats(init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu"))
    assert top <= math.sqrt(6 / 400) and abs(std - math.sqrt(2 / 400)) < 0.01
    _, std, _ = _stats(init.kaiming_normal_(w, a=0.1))
    assert abs(std - math.sqrt(2 / 1.01) / math.sqrt(300)) < 0.002
    mean, std, _ = _stats(init.normal_(w, 3.0, 0.5))
    assert abs(mean - 3) < 0.01 and abs(std - 0.5) < 0.01
    mean, _, top = _stats(init.trunc_normal_(w, mean=1.0, std=2.0, a=-1.0, b=2.0))
    a = w.numpy()
    assert a.min() >= -1.0 and a.max() <= 2.0
    init.constant_(w, 0.25)
    assert (w.numpy() == 0.25).all()
    init.zeros_(w), init.ones_(w)
    assert (w.numpy() == 1).all()
    assert w.dtype == np.float32


def test_orthogonal_eye_dirac_sparse():
    q = init.orthogonal_(cr.empty(6, 4), gain=2.0).numpy()
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(4), atol=1e-5)
    np.testing.assert_array_equal(init.eye_(cr.empty(2, 3)).numpy(), np.eye(2, 3))
    d = init.dirac_(cr.empty(2, 2, 3, 3)).numpy()
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(nn.functional.conv2d(x, d, padding=1), x, atol=1e-6)
    s = init.sparse_(cr.empty(10, 4), sparsity=0.3).numpy()
    assert ((s == 0).sum(0) == 3).all()


def test_init_is_reproducible_and_in_place():
    cr.manual_seed(42)
    a = nn.Linear(5, 3)
    cr.manual_seed(42)
    b = nn.Linear(5, 3)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    w = a.weight
    init.uniform_(w, -1, 1, generator=cr.Generator(7))
    assert a.weight is w and w.requires_grad
    arr = np.zeros((3, 3))
    assert init.ones_(arr) is arr and (arr == 1).all()


def test_default_layer_initialisation_follows_pytorch():
    cr.manual_seed(3)
    lin = nn.Linear(64, 500)
    bound = 1 / math.sqrt(64)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    conv = nn.Conv2d(4, 200, 3)
    bound = 1 / math.sqrt(4 * 9)
    assert bound * 0.9 < np.abs(conv.weight.detach().numpy()).max() <= bound
    lstm = nn.LSTM(3, 16)
    assert np.abs(lstm.weight_hh_l0.detach().numpy()).max() <= 1 / 4
    emb = nn.Embedding(1000, 10)
    assert abs(emb.weight.detach().numpy().std() - 1) < 0.05
    mha = nn.MultiheadAttention(12, 3)
    assert (mha.in_proj_bias.detach().numpy() == 0).all() and (mha.out_proj.bias.detach().numpy() == 0).all()
    assert np.abs(mha.in_proj_weight.detach().numpy()).max() <= math.sqrt(6 / (12 + 36))
    ln = nn.LayerNorm(4)
    assert (ln.weight.detach().numpy() == 1).all() and (ln.bias.detach().numpy() == 0).all()
