"""tfquiz: a self-grading quiz on custom models and training with TensorFlow."""

__version__ = "0.1.0"
