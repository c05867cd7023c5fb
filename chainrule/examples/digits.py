"""The main job: a small convolutional network learns to read handwritten digits, PyTorch style.

The data are the 1,797 8x8 greyscale digits of the UCI "Optical Recognition of Handwritten Digits" set (E. Alpaydin
and C. Kaynak, 1998; CC BY 4.0), shipped inside the package as ``chainrule/examples/data/digits.npz`` (see
``data/ATTRIBUTION.txt`` there), so nothing is downloaded. A fixed stratified split holds out 300 images (30 per
digit) for testing; the other 1,497 train the model.

The model is written with the Tensor face: ``chainrule.nn`` layers (``Conv2d``, ``MaxPool2d``, ``Linear``,
``ReLU``, ``Sequential``), ``nn.functional.cross_entropy``, ``loss.backward()``, ``chainrule.optim.Adam`` and a
cosine learning-rate schedule stepped every batch. At the end the model's and the optimizer's ``state_dict`` are
written with ``chainrule.save`` and the loss and accuracy curves are drawn to a PNG.

Run with ``python -m chainrule.examples.digits`` (10 to 20 seconds on two cores; ``--help`` lists the options).
A progress bar shows the running loss and accuracy when ``tqdm`` is installed, and the plot is drawn when
``matplotlib`` is installed (``pip install "chainrule[examples]"`` brings both); without them the example prints
one line per epoch and skips the plot.

>>> images, labels = load_digits()
>>> images.shape, images.dtype, labels.shape, int(images.max())
((1797, 8, 8), dtype('uint8'), (1797,), 16)
>>> train_idx, test_idx = split_indices(labels)
>>> len(train_idx), len(test_idx), np.bincount(labels[test_idx]).tolist() == [30] * 10
(1497, 300, True)
>>> make_model()(cr.zeros(2, 1, 8, 8)).shape
(2, 10)
"""
import argparse
import importlib.resources
import io
import os
import time

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

__all__ = ["load_digits", "split_indices", "to_inputs", "random_shift", "make_model", "predict", "evaluate", "train",
           "save_plot", "main"]

CHECKPOINT_NAME = "digits_cnn.ckpt"
PLOT_NAME = "curves.png"


def load_digits():
    """``(images, labels)``: the 1,797 digits as uint8 arrays of shape (1797, 8, 8) with pixel values 0..16,
    and their labels 0..9 (uint8), read from the copy shipped inside the package."""
    blob = (importlib.resources.files("chainrule.examples") / "data" / "digits.npz").read_bytes()
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return data["images"], data["labels"]


def split_indices(labels, n_test_per_class=30, seed=0):
    """A stratified split: ``(train_idx, test_idx)`` with ``n_test_per_class`` test images of every class,
    drawn with its own fixed ``seed`` so that every training run is scored on the same held-out images."""
    rng = np.random.default_rng(seed)
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:n_test_per_class]
                           for c in np.unique(labels)])
    test = np.sort(test)
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train, test


# Mean and standard deviation of the pixels (0..16) of the 1,497 training images: the inputs are standardised with
# them, which makes the first epoch learn much faster than with raw or [0, 1]-scaled pixels.
PIXEL_MEAN = 4.889
PIXEL_STD = 6.020


def to_inputs(images):
    """uint8 images (N, 8, 8) with values 0..16 -> standardised float32 network inputs (N, 1, 8, 8).

    >>> x = to_inputs(np.full((2, 8, 8), 16, np.uint8))
    >>> x.shape, x.dtype, round(float(x.max()), 3)
    ((2, 1, 8, 8), dtype('float32'), 1.846)
    """
    return ((np.asarray(images, dtype=np.float32) - PIXEL_MEAN) / PIXEL_STD)[:, None]


BACKGROUND = -PIXEL_MEAN / PIXEL_STD    # a blank pixel after standardisation


def random_shift(x, rng, max_shift=1, fill=BACKGROUND):
    """Data augmentation: move every image of the batch ``x`` (N, C, H, W) by its own random offset of up to
    ``max_shift`` pixels in each direction, filling the uncovered border with ``fill`` (by default the value
    of a blank pixel). One gather for the whole batch, no loop over images.

    >>> x = np.arange(4.0).reshape(1, 1, 2, 2)
    >>> random_shift(x, np.random.default_rng(0), fill=-1.0)[0, 0].tolist()    # moved up one row
    [[2.0, 3.0], [-1.0, -1.0]]
    """
    n, _, h, w = x.shape
    m = max_shift
    padded = np.pad(x, ((0, 0), (0, 0), (m, m), (m, m)), constant_values=fill)
    dy, dx = rng.integers(0, 2 * m + 1, size=(2, n))
    rows = dy[:, None] + np.arange(h)                  # (N, H): the rows each image is cut from
    cols = dx[:, None] + np.arange(w)                  # (N, W)
    return padded[np.arange(n)[:, None, None, None], np.arange(x.shape[1])[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


def make_model():
    """The network: two 3x3 convolutions (32 and 64 channels), a 2x2 max-pool, a 128-unit hidden layer and
    10 logits; about 151,000 parameters.

    >>> sum(p.numel() for p in make_model().parameters())
    151306
    """
    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.ReLU(),    # (N, 32, 8, 8)
        nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(),   # (N, 64, 8, 8)
        nn.MaxPool2d(2),                                          # (N, 64, 4, 4)
        nn.Flatten(),                                             # (N, 1024)
        nn.Linear(64 * 4 * 4, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


def predict(model, x, batch_size=512):
    """The predicted class of every row of ``x`` (float32 inputs (N, 1, 8, 8)), as an int64 NumPy array.

    >>> predict(make_model(), np.zeros((3, 1, 8, 8), np.float32)).shape
    (3,)
    """
    return evaluate(model, x, None, batch_size)[2]


def evaluate(model, x, y, batch_size=512):
    """``(mean loss, accuracy, predictions)`` of ``model`` on inputs ``x`` and labels ``y``, in eval mode and
    without recording a graph (``y=None`` skips the loss and accuracy, returning NaNs for them).

    >>> _ = cr.manual_seed(0)
    >>> loss, acc, pred = evaluate(make_model(), np.zeros((4, 1, 8, 8), np.float32), np.array([0, 1, 2, 3]))
    >>> round(loss, 1), acc in (0.0, 0.25), pred.shape     # an untrained model: about log(10) = 2.3
    (2.3, True, (4,))
    """
    was_training = model.training
    model.eval()
    losses, preds = [], []
    with cr.no_grad():
        for i in range(0, len(x), batch_size):
            logits = model(cr.tensor(x[i:i + batch_size]))
            preds.append(np.asarray(logits.argmax(1).numpy(), dtype=np.int64))
            if y is not None:
                loss = F.cross_entropy(logits, cr.tensor(y[i:i + batch_size]), reduction="sum")
                losses.append(float(loss.item()))
    model.train(was_training)
    preds = np.concatenate(preds) if preds else np.zeros(0, np.int64)
    if y is None:
        return float("nan"), float("nan"), preds
    return sum(losses) / len(x), float(np.mean(preds == y)), preds


def _progress(total, desc, show):
    """A tqdm bar when tqdm is installed and ``show`` is true, else None."""
    if not show:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="batch", leave=True, dynamic_ncols=True)


def train(epochs=20, seed=0, batch_size=32, lr=3e-3, augment=True, progress=True, log=print):
    """Train a fresh :func:`make_model` and return ``(model, optimizer, history)``.

    ``history`` holds per-epoch lists ``train_loss``, ``train_acc`` (running values over the epoch),
    ``test_loss`` and ``test_acc`` (on the held-out split), and ``test_pred``: the final predictions on the
    held-out images. ``augment`` moves each training image by up to one pixel (:func:`random_shift`), which
    costs a little speed in the first epoch and buys a point of held-out accuracy. ``progress`` shows a tqdm
    bar when tqdm is available; without it (or with ``progress=False``) one line per epoch is passed to
    ``log`` (``log=None`` prints nothing).
    """
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError(f"digits.train: epochs and batch_size must be positive and lr > 0, got epochs={epochs}, "
                         f"batch_size={batch_size}, lr={lr}")
    images, labels = load_digits()
    train_idx, test_idx = split_indices(labels)
    x_train, y_train = to_inputs(images[train_idx]), labels[train_idx].astype(np.int64)
    x_test, y_test = to_inputs(images[test_idx]), labels[test_idx].astype(np.int64)

    cr.manual_seed(seed)                         # the model's initial weights
    rng = np.random.default_rng(seed)            # the order of the batches and the shifts
    model = make_model()
    optimizer = cr.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = -(-len(x_train) // batch_size)
    scheduler = cr.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch)

    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    for epoch in range(1, epochs + 1):
        bar = _progress(steps_per_epoch, f"epoch {epoch}/{epochs}", progress)
        model.train()
        order = rng.permutation(len(x_train))
        seen = loss_sum = correct = 0
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            xb = random_shift(x_train[batch], rng) if augment else x_train[batch]
            xb, yb = cr.tensor(xb), cr.tensor(y_train[batch])
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            n = len(batch)
            seen += n
            loss_sum += float(loss.item()) * n
            correct += int((logits.argmax(1).numpy() == y_train[batch]).sum())
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.3f}", refresh=False)
        test_loss, test_acc, test_pred = evaluate(model, x_test, y_test)
        history["train_loss"].append(loss_sum / seen)
        history["train_acc"].append(correct / seen)
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_acc)
        if bar is not None:
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.3f}", test_acc=f"{test_acc:.3f}")
            bar.close()
        elif log is not None:
            log(f"epoch {epoch:3d}/{epochs}: train loss {loss_sum / seen:.4f}, train accuracy {correct / seen:.3f}, "
                f"test loss {test_loss:.4f}, test accuracy {test_acc:.3f}")
    history["test_pred"] = test_pred
    return model, optimizer, history


def save_plot(history, path):
    """Draw the loss and accuracy curves of ``history`` to the PNG ``path``; returns False (drawing nothing)
    when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")                    # files only, no window: works on headless machines
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return False
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, history["train_loss"], "o-", label="train (running)")
    ax_loss.plot(epochs, history["test_loss"], "s-", label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss", yscale="log")
    ax_acc.plot(epochs, history["train_acc"], "o-", label="train (running)")
    ax_acc.plot(epochs, history["test_acc"], "s-", label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle("chainrule: 8x8 digits CNN")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m chainrule.examples.digits",
        description="Train a small CNN on the 8x8 handwritten digits (1,497 training and 300 held-out images, "
                    "shipped with chainrule) with chainrule.nn and chainrule.optim; save a checkpoint and a plot "
                    "of the learning curves.")
    p.add_argument("--epochs", type=int, default=20, help="passes over the training images (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the initial weights, the batch order and the augmentation; the train/test "
                        "split is fixed "
                        "(default: %(default)s)")
    p.add_argument("--out", default="digits-run",
                   help=f"directory for the checkpoint ({CHECKPOINT_NAME}) and the plot ({PLOT_NAME}); created "
                        f"if missing (default: ./%(default)s)")
    p.add_argument("--batch-size", type=int, default=32, help="images per training step (default: %(default)s)")
    p.add_argument("--lr", type=float, default=3e-3,
                   help="Adam's initial learning rate, annealed to 0 on a cosine (default: %(default)s)")
    p.add_argument("--no-augment", action="store_true",
                   help="train on the images as they are, without random one-pixel shifts")
    p.add_argument("--no-progress", action="store_true",
                   help="print one line per epoch instead of a progress bar")
    return p


def main(argv=None):
    """Run the example with command-line arguments ``argv``; returns the final held-out accuracy."""
    args = _parser().parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or not args.lr > 0:
        _parser().error("--epochs and --batch-size must be positive integers and --lr a positive number")
    t0 = time.perf_counter()
    print(f"chainrule digits: {args.epochs} epochs, batch size {args.batch_size}, lr {args.lr}, seed {args.seed}")
    model, optimizer, history = train(args.epochs, args.seed, args.batch_size, args.lr,
                                      augment=not args.no_augment, progress=not args.no_progress)
    train_time = time.perf_counter() - t0
    test_acc = history["test_acc"][-1]

    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, CHECKPOINT_NAME)
    cr.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epochs": args.epochs,
             "seed": args.seed, "pixel_mean": PIXEL_MEAN, "pixel_std": PIXEL_STD, "test_accuracy": test_acc,
             "test_predictions": history["test_pred"],
             "history": {k: v for k, v in history.items() if k != "test_pred"}}, ckpt)
    plot = os.path.join(args.out, PLOT_NAME)
    plotted = save_plot(history, plot)

    n_test = len(history["test_pred"])
    print(f"test accuracy: {test_acc:.4f} ({round(test_acc * n_test)}/{n_test} held-out images)")
    print(f"checkpoint: {ckpt}")
    print(f"plot: {plot}" if plotted else "plot: skipped (matplotlib is not installed; pip install matplotlib)")
    print(f"time: {train_time:.1f} s training, {time.perf_counter() - t0:.1f} s in all")
    return test_acc


if __name__ == "__main__":
    main()
