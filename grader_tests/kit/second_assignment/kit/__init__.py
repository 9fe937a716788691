"""The warm-up assignment's kit: its classic mistakes, a correct alternative, the demo's samples."""
from pathlib import Path

ASSIGNMENT = Path(__file__).resolve().parent.parent.name
