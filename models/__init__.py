"""What the model is: the tool language, the dual tokenizer, base-model loading, the tiny
preset, model directories and the default model (``files.py``), and the decoding engine
(``engine.py``) that the runtime, evaluation and training all decode with."""
