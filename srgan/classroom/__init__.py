"""Services a class uses around the paper: fine-tuning runs started from a button, and the MOS test.

- `runs`: fine-tuning jobs (uploaded photos, one run at a time, checkpoints and previews);
- `mos`: the mean-opinion-score test of §3.3 (sessions, votes, statistics, the deck of crops).

They call `srgan.train` and `srgan.engine`; the paper's modules never import them.
"""
