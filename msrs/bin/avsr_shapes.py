"""Stage 6 without decoding: shape files from the dumps' ``utt2num_frames``.

Takes the options of ``python -m msrs.bin.avsr_train --collect_stats true``
(config, modality, token options, ``--{train,valid}_data_path_and_name_and_type``,
``--{train,valid}_shape_file``, ``--output_dir``) and writes the same
``<output_dir>/{train,valid}/{video,speech,text}_shape`` files
(:mod:`msrs.tasks.avsr_shapes`)::

    python -m msrs.bin.avsr_shapes --config conf/train_vsr_msrs.yaml --modality vsr \
        --token_type bpe --token_list tokens.txt --bpemodel bpe.model \
        --train_data_path_and_name_and_type dump/train/video.scp,video,video \
        --train_data_path_and_name_and_type dump/train/text,text,text \
        --train_shape_file dump/train/text ... --output_dir exp/stats
"""

import json
import logging
import sys
from typing import List, Optional

from msrs.data.cli import fail


def main(cmd: Optional[List[str]] = None) -> int:
    from msrs.tasks.avsr import AVSRTask
    from msrs.tasks.avsr_shapes import write_shapes

    args = AVSRTask.get_parser().parse_args(cmd)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"
    )
    try:
        counts = {p: write_shapes(args, p) for p in ("train", "valid")}
    except (FileNotFoundError, ValueError) as e:
        return fail(str(e))
    logging.info("shapes written to %s: %s", args.output_dir, json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
