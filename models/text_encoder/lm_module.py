"""Causal-LM training with Lightning: text-encoder pretraining and the prompt engineer's full-FT SFT.

Both stages minimise next-token cross-entropy; they differ only in which tokens carry a label: every
caption token for pretraining, only the rewrite (not the user prompt) for SFT. Examples are therefore
`(input_ids, labels)` pairs with `labels = -100` where no loss is taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import torch
from torch.utils.data import Dataset

IGNORE = -100  # label value that CrossEntropyLoss (and HF's loss) skips


@dataclass(frozen=True)
class LMExample:
    input_ids: list[int]
    labels: list[int]  # same length; IGNORE where no loss is taken

    def __post_init__(self) -> None:
        if len(self.input_ids) != len(self.labels):
            raise ValueError("input_ids and labels must have the same length")
        if not self.input_ids:
            raise ValueError("empty example")


class LMDataset(Dataset):
    def __init__(self, examples: list[LMExample]) -> None:
        if not examples:
            raise ValueError("no training examples")
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> LMExample:
        return self.examples[i]


def collate_lm(examples: list[LMExample], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad to the longest example: input_ids/labels/attention_mask [B, L]."""
    length = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), length), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), length), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), length), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


class CausalLMModule(L.LightningModule):
    """Next-token cross-entropy on the labelled tokens of a HF causal LM (full fine-tune)."""

    def __init__(self, model: torch.nn.Module, lr: float = 3e-3, weight_decay: float = 0.0,
                 warmup_steps: int = 10, total_steps: int = 100) -> None:
        super().__init__()
        self.model = model
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_steps = warmup_steps
        self.total_steps = max(total_steps, 1)

    def _loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        out = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        logits = out.logits[:, :-1].float()  # [B, L-1, V]: position t predicts token t+1
        target = batch["labels"][:, 1:]  # [B, L-1]
        return torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=IGNORE
        )

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=False, batch_size=len(batch["input_ids"]))
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self._loss(batch)
        self.log("val/loss", loss, prog_bar=True, on_epoch=True, batch_size=len(batch["input_ids"]))
        return loss

    def on_train_start(self) -> None:
        self.model.train()  # from_pretrained returns eval mode

    def configure_optimizers(self):
        opt = torch.optim.AdamW(
            [p for p in self.parameters() if p.requires_grad], lr=self.lr, weight_decay=self.weight_decay
        )
        # Linear warm-up then cosine decay: the usual LLM fine-tuning schedule.
        def factor(step: int) -> float:
            if step < self.warmup_steps:
                return (step + 1) / self.warmup_steps
            progress = min((step - self.warmup_steps) / max(self.total_steps - self.warmup_steps, 1), 1.0)
            return 0.1 + 0.9 * 0.5 * (1.0 + float(torch.cos(torch.tensor(progress * torch.pi))))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
