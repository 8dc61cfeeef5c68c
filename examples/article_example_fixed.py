"""The article's "Transformer text classifier" (its sections 4.2/4.3), rewritten to work.

The article promises a Keras Transformer that classifies text. Its code does not run, and if
its errors were patched it would still contain no Transformer. This script is that example done
properly, in the same few steps (data, model, compile, fit, test), on a larger version of the
article's kind of toy data: short English sentences, here with sentiment labels that depend on
word order and negation (`transformer_keras.datasets.make_sentiment_corpus`).

Each defect of the original, and its fix here:

| #  | original code               | defect                        | fix here                      |
|----|-----------------------------|-------------------------------|-------------------------------|
| 1  | texts.split()[:-1]          | split() on a Python list:     | TextVectorization tokenizes   |
|    |                             | AttributeError                | each string                   |
| 2  | X = CountVectorizer()       | a sparse documents x words    | TextVectorization: padded     |
|    | counts, fed to Embedding    | count matrix where token ids  | token-id sequences, 0         |
|    |                             | are expected                  | padding, 1 unknown            |
| 3  | y = np.argmax(counts,       | the 'labels' are each text's  | real class labels, encoded as |
|    | axis=1)                     | most frequent word, not       | 0..C-1 (encode_labels)        |
|    |                             | classes                       |                               |
| 4  | 4.3 fits on y               | y is used before it is        | the labels come with the data |
|    |                             | defined: NameError            |                               |
| 5  | Dense(len(y)), no softmax;  | one output per training       | Dense(num_classes) logits,    |
|    | loss=                       | example; one-hot loss on      | sparse cross-entropy          |
|    | 'categorical_crossentropy'  | integer labels and raw scores | from_logits=True; softmax to  |
|    |                             |                               | predict                       |
| 6  | Embedding(input_dim=16)     | ignores the vocabulary: ids   | input_dim =                   |
|    |                             | >= 16 are out of range        | vectorizer.vocabulary_size()  |
| 7  | Embedding(input_length=     | input_length is gone in Keras | keras.Input(shape=            |
|    | X.shape[1])                 | 3: TypeError                  | (sequence_length,))           |
| 8  | Adam(lr=1e-5)               | lr was removed, the name is   | Adam(learning_rate=1e-3)      |
|    |                             | learning_rate                 |                               |
| 9  | Embedding -> Dense -> Dense | no attention, positions,      | token + position embedding    |
|    |                             | padding mask or pooling: the  | (mask_zero) -> encoder blocks |
|    |                             | sequence axis stays           | -> masked mean pool -> Dense  |
| 10 | test_X = np.array([1..11]), | 1-D input, not (batch,        | held-out sentences,           |
|    | test_y: 12 entries          | length) ids; 11 inputs, 12    | vectorized like the training  |
|    |                             | labels                        | ones, with their labels       |
| 11 | train_test_split unused;    | no validation or test data:   | train/validation/test split   |
|    | fit(epochs=500) on 3 texts  | it can only memorise 3        | of 4,000 sentences, 10 epochs |
|    |                             | sentences                     |                               |
| 12 | to_categorical unused       | dead import (maybe meant for  | not needed with the sparse    |
|    |                             | the labels of row 5)          | loss                          |
| 13 | test_pred.shape             | the only 'result': nothing    | test accuracy and predictions |
|    |                             | measures the model            | for new sentences             |

    python examples/article_example_fixed.py
    python examples/article_example_fixed.py --num-examples 8000 --epochs 8
"""

import _common
import keras
import numpy as np

from transformer_keras.datasets import (
    encode_labels,
    make_sentiment_corpus,
    train_test_split_lists,
)
from transformer_keras.layers import (
    MaskedGlobalPooling,
    TokenAndPositionEmbedding,
    TransformerEncoderBlock,
)

NEW_SENTENCES = [
    "the food was really good",
    "the food was not really good",
    "the staff was never particularly unpleasant",
    "the wine was very nice but the music was truly awful",
    "the wine was very nice although the music was truly awful",
]


def parse_args(argv=None):
    parser = _common.make_parser(
        "article_example_fixed", __doc__.split("\n\n")[0], epochs=10, batch_size=32
    )
    group = parser.add_argument_group("data and model")
    group.add_argument("--num-examples", type=int, default=4000, help="generated sentences")
    group.add_argument("--sequence-length", type=int, default=16, help="tokens per sentence")
    group.add_argument("--embedding-dim", type=int, default=64, help="model width")
    group.add_argument("--num-heads", type=int, default=4, help="attention heads")
    group.add_argument("--num-layers", type=int, default=2, help="encoder blocks")
    group.add_argument("--learning-rate", type=float, default=1e-3, help="Adam learning rate")
    return parser.parse_args(argv)


def main(argv=None):
    args = _common.start(parse_args(argv), num_examples=300, embedding_dim=16, num_layers=1)

    # 1. Data: labelled sentences (fixes 3, 4) split three ways (fix 11).
    texts, labels = make_sentiment_corpus(args.num_examples, seed=args.seed)
    y, class_names = encode_labels(labels)
    train_texts, test_texts, y_train, y_test = train_test_split_lists(
        texts, y, test_size=0.2, seed=args.seed, stratify=y
    )
    train_texts, val_texts, y_train, y_val = train_test_split_lists(
        train_texts, y_train, test_size=0.1, seed=args.seed, stratify=y_train
    )
    print(f"{len(train_texts)} train, {len(val_texts)} validation, {len(test_texts)} test")

    # 2. Tokenization: strings -> padded token ids (fixes 1, 2).
    vectorizer = keras.layers.TextVectorization(output_sequence_length=args.sequence_length)
    vectorizer.adapt(train_texts)

    def vectorize(batch):
        return np.asarray(vectorizer(batch))

    # 3. A real Transformer classifier (fixes 5, 6, 7, 9).
    with _common.scope():  # the --strategy: variables on every replica
        inputs = keras.Input(shape=(args.sequence_length,), dtype="int32", name="token_ids")
        x = TokenAndPositionEmbedding(
            vectorizer.vocabulary_size(), args.sequence_length, args.embedding_dim, mask_zero=True
        )(inputs)
        for _ in range(args.num_layers):
            x = TransformerEncoderBlock(args.num_heads, 4 * args.embedding_dim, dropout=0.1)(x)
        x = MaskedGlobalPooling("mean")(x)
        logits = keras.layers.Dense(len(class_names), name="logits")(x)
        model = keras.Model(inputs, logits, name="transformer_text_classifier")
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=args.learning_rate),  # fix 8
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),  # fix 5
            metrics=["accuracy"],
            jit_compile=args.jit_compile,
        )
    model.summary()

    # 4. Train with validation data (fix 11).
    _common.fit(
        model,
        args,
        vectorize(train_texts),
        np.asarray(y_train),
        validation_data=(vectorize(val_texts), np.asarray(y_val)),
    )

    # 5. Test on held-out sentences (fixes 10, 13), then predict with a softmax (fix 5).
    _, accuracy = model.evaluate(vectorize(test_texts), np.asarray(y_test), verbose=0)
    print(f"Test accuracy: {accuracy:.4f} on {len(test_texts)} held-out sentences")
    probabilities = keras.ops.convert_to_numpy(
        keras.ops.softmax(model.predict(vectorize(NEW_SENTENCES), verbose=0))
    )
    print("Predictions for new sentences:")
    for text, p in zip(NEW_SENTENCES, probabilities):
        print(f"  {class_names[p.argmax()]:>8} ({p.max():.2f})  {text}")
    _common.write_results(args, {"test_accuracy": accuracy, "classes": class_names})


if __name__ == "__main__":
    main()
