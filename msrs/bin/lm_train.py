"""Train a language model on transcripts with ESPnet's LM task.

A thin entry so a recipe stage can train the LM used by
``msrs.bin.avsr_inference --lm_train_config ... --lm_file ...`` (shallow
fusion).  All of ESPnet's ``espnet2.bin.lm_train`` options apply, e.g.::

    python -m msrs.bin.lm_train --config conf/train_lm.yaml \\
        --token_type bpe --bpemodel data/token_list/bpe.model \\
        --token_list data/token_list/tokens.txt \\
        --train_data_path_and_name_and_type data/lm_train.txt,text,text \\
        --valid_data_path_and_name_and_type dump/valid/text,text,text \\
        --train_shape_file exp/lm_stats/train/text_shape.bpe \\
        --valid_shape_file exp/lm_stats/valid/text_shape.bpe \\
        --output_dir exp/lm
"""

from typing import Optional, Sequence

from msrs.utils.espnet_import import import_espnet


def get_parser():
    """ESPnet's LM task parser."""
    return import_espnet("espnet2.tasks.lm").LMTask.get_parser()


def main(cmd: Optional[Sequence[str]] = None) -> None:
    """Run ESPnet's LM training with ``cmd`` or ``sys.argv``."""
    import_espnet("espnet2.tasks.lm").LMTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
