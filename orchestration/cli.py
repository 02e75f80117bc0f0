"""The `seedflow` command: presets, validation and the demo.

    seedflow preset tiny        render orchestration/presets/tiny/ into params.yaml
    seedflow validate           validate params.yaml against every section's schema
    seedflow demo               materialize the whole graph on the active preset
    seedflow materialize GROUP  materialize one asset group (what each DVC stage runs)
    seedflow dvc                regenerate dvc.yaml from the asset graph
"""

from __future__ import annotations

import argparse
import sys

from resources.params import ParamsError, params_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seedflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("preset", help="render a preset into params.yaml")
    p.add_argument("name", choices=["tiny", "small", "paper"])
    p.add_argument("--out", default=None, help="output file (default: $SEEDFLOW_PARAMS or ./params.yaml)")
    sub.add_parser("validate", help="validate params.yaml")
    d = sub.add_parser("demo", help="materialize the whole graph")
    d.add_argument("--only", nargs="*", default=None, help="limit to these groups")
    d.add_argument("--start-at", default=None, help="resume: skip assets before this one (topological order)")
    m = sub.add_parser("materialize", help="materialize one asset group (all its partitions)")
    m.add_argument("group")
    v = sub.add_parser("dvc", help="regenerate dvc.yaml from the asset graph")
    v.add_argument("--out", default="dvc.yaml")
    args = parser.parse_args(argv)
    from orchestration import presets

    try:
        if args.cmd == "preset":
            out = presets.write_params(args.name, args.out or params_path())
            print(f"wrote {out} (preset {args.name})")
        elif args.cmd == "validate":
            sections = presets.validate_file()
            print(f"{params_path()}: valid ({len(sections)} sections)")
        elif args.cmd == "demo":
            from orchestration.demo import run_demo

            return run_demo(only=args.only, start_at=args.start_at)
        elif args.cmd == "materialize":
            from orchestration.demo import run_demo

            return run_demo(only=[args.group], summary_table=False)
        elif args.cmd == "dvc":
            from orchestration.definitions import defs
            from orchestration.dvc_stages import write_dvc_yaml

            print(f"wrote {write_dvc_yaml(args.out, defs)}")
    except ParamsError as exc:
        print(f"seedflow: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
