"""Vision Transformer (ViT) on scikit-learn's handwritten digits: 8x8 images, 10 classes.

The 1,797 images ship with scikit-learn, so nothing is downloaded. Each image is cut into
patches (2x2 by default: 16 patches), a learned class token is prepended, and pre-LN encoder
blocks classify it. Prints the test accuracy, a classification report and the confusion matrix,
and saves the model, the training history, the confusion matrix and results.json.

    python examples/vision_transformer.py
    python examples/vision_transformer.py --patch-size 4 --epochs 60
"""

import _common
import keras
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, confusion_matrix
from sklearn.model_selection import train_test_split

from transformer_keras import analysis
from transformer_keras.models import build_vision_transformer


def parse_args(argv=None):
    parser = _common.make_parser(
        "vision_transformer", __doc__.split("\n\n")[0], epochs=60, batch_size=64
    )
    model = _common.add_model_options(
        parser,
        embedding_dim=64,
        num_heads=4,
        num_layers=4,
        dropout=0.1,
        learning_rate=1e-3,
        norm_first=True,
    )
    model.add_argument("--weight-decay", type=float, default=0.05, help="AdamW weight decay")
    data = parser.add_argument_group("data")
    data.add_argument("--patch-size", type=int, default=2, help="side of the square patches")
    data.add_argument("--test-size", type=float, default=0.2, help="fraction held out for test")
    data.add_argument(
        "--validation-size", type=float, default=0.1, help="fraction of training for validation"
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = _common.start(
        parse_args(argv), embedding_dim=16, num_heads=2, num_layers=1, batch_size=128
    )

    # Data: 8x8 grey images with values 0..16, scaled to [0, 1].
    digits = load_digits()
    images = (digits.images[..., None] / 16.0).astype("float32")
    labels = digits.target
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=args.test_size, random_state=args.seed, stratify=labels
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_train, y_train, test_size=args.validation_size, random_state=args.seed, stratify=y_train
    )
    print(f"Digits: {len(x_train)} train, {len(x_val)} validation, {len(x_test)} test images")

    # Baseline: a linear classifier on the 64 pixels.
    baseline = LogisticRegression(max_iter=2000).fit(x_train.reshape(len(x_train), -1), y_train)
    baseline_accuracy = baseline.score(x_test.reshape(len(x_test), -1), y_test)
    print(f"Pixel logistic regression baseline test accuracy: {baseline_accuracy:.4f}")

    # Model.
    with _common.scope():  # the --strategy: variables on every replica
        model = build_vision_transformer(
            image_size=8,
            patch_size=args.patch_size,
            num_classes=10,
            num_channels=1,
            embedding_dim=args.embedding_dim,
            num_heads=args.num_heads,
            num_layers=args.num_layers,
            intermediate_dim=args.intermediate_dim,
            dropout=args.dropout,
            norm_first=args.norm_first,
        )
        model.summary()
        model.compile(
            optimizer=_common.make_optimizer(args, weight_decay=args.weight_decay),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
            jit_compile=args.jit_compile,
        )

    # Train.
    _, seconds = _common.fit(model, args, x_train, y_train, validation_data=(x_val, y_val))

    # Evaluate.
    predictions = np.argmax(model.predict(x_test, batch_size=256, verbose=0), axis=-1)
    accuracy = float(np.mean(predictions == y_test))
    print(f"Pixel logistic regression baseline test accuracy: {baseline_accuracy:.4f}")
    print(f"Vision Transformer test accuracy: {accuracy:.4f}")
    names = [str(d) for d in range(10)]
    print(classification_report(y_test, predictions, target_names=names, digits=3, zero_division=0))
    matrix = confusion_matrix(y_test, predictions)
    print("Confusion matrix (rows: true digit, columns: predicted):")
    print(matrix)
    _common.save_plot(
        analysis.plot_confusion_matrix(matrix, names), args.output_dir / "confusion_matrix.png"
    )

    # Save.
    model_path = args.output_dir / "vision_transformer.keras"
    model.save(model_path)
    print(f"Saved {model_path}")
    _common.write_results(
        args,
        {
            "baseline_accuracy": baseline_accuracy,
            "test_accuracy": accuracy,
            "train_seconds": seconds,
            "num_parameters": model.count_params(),
        },
    )


if __name__ == "__main__":
    main()
