"""What the model is: the tool language, the dual tokenizer, base-model loading, the tiny
preset and the default model."""
