"""Exporters: GGUF (llama.cpp) and ONNX, quantization, parity checks."""
