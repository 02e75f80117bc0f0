"""The synthetic video world: a seeded generator of raw videos with complete ground truth.

Modules (one job each):
  vocabulary  the closed set of names (EN/ZH) with long-tail weights
  settings    `WorldSettings`, the `world` preset section
  plan        `SubjectSpec`, `ShotSpec`, `Transition`, `VideoSpec`, `make_shot`, `sample_shot`,
              `plan_world` (what every video contains; pure, no pixels)
  scenes / subjects / styles / defects / overlays   the pixel pieces
  render      `iter_shot`, `render_shot`, `render_video` (frames, transitions included)
  encode      H.264 through PyAV, byte-deterministic
  schemas     pyarrow schemas of the ground-truth tables
  writer      `write_world(settings, out_dir) -> WorldResult`, `ground_truth_tables(videos)`
"""
