"""Services a class uses around the paper: fine-tuning runs started from a button, and the MOS test.

- `runs`: fine-tuning runs (`RunManager`: one run at a time, the runs folder, clean-up), with
  `uploads` (the training images: built-in photos or a user's files and zips, within limits) and
  `job` (`FinetuneJob`, one run's thread around `srgan.training.train`, and the held-out preview);
- `mos`: the mean-opinion-score test of §3.3 (`MosStore`: sessions, codes, votes), with `mos_stats`
  (means, 95 % intervals, the paper's Table 2) and `mos_deck` (the blind crops rated).

They call `srgan.train` and `srgan.engine`; the paper's modules never import them.
"""
