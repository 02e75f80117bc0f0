"""Direct Preference Optimization with LoRA adapters (report 2.4, "Reinforcement Learning").

The report trains the SFT prompt engineer further with DPO (Rafailov et al. 2023) on pairs of correct
and incorrect (hallucinated) rewrites, using LoRA (Hu et al. 2021). The loss is written out here
(a dozen lines; trl would add a large dependency for it):

    L = -log sigmoid( beta * [ (log pi(y_w|x) - log ref(y_w|x)) - (log pi(y_l|x) - log ref(y_l|x)) ] )

with log-probabilities summed over the rewrite tokens. LoRA makes the reference model free: the frozen
base *is* the SFT model, so `ref` is the same network with its adapters disabled (peft's
`disable_adapter()`), and no second copy of the weights is held.

An optional `sft_weight` adds the chosen rewrite's mean NLL (as in RPO, Pang et al. 2024): with few
pairs and a tiny model, pure DPO can push probability mass off both answers and degrade decoding; the
NLL anchor keeps the chosen rewrite likely while the margin separates it from the hallucination.

`preference_metrics` scores pairs the adapters never trained on: DPO loss (log 2 at the reference),
mean reward margin, reward accuracy, and the chosen / rejected implicit rewards separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from peft import LoraConfig, PeftModel, get_peft_model
from torch.utils.data import Dataset
from transformers import PreTrainedTokenizerBase

from models.prompt_engineer.format import encode_pair
from models.text_encoder.lm_module import IGNORE

# Qwen2 projection names: attention (q, k, v, o) and the SwiGLU MLP (gate, up, down).
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def apply_lora(model: torch.nn.Module, r: int = 8, alpha: int = 16, dropout: float = 0.0,
               targets: tuple[str, ...] = DEFAULT_TARGETS) -> PeftModel:
    """Wrap a causal LM with fresh LoRA adapters; only the adapters train."""
    config = LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets), bias="none", task_type="CAUSAL_LM"
    )
    return get_peft_model(model, config)


def save_adapters(model: PeftModel, directory: str | Path) -> Path:
    """adapter_model.safetensors + adapter_config.json (peft's layout; no pickle)."""
    directory = Path(directory)
    model.save_pretrained(str(directory), safe_serialization=True)
    return directory


def load_adapters(base: torch.nn.Module, directory: str | Path) -> PeftModel:
    return PeftModel.from_pretrained(base, str(directory), is_trainable=False)


@dataclass(frozen=True)
class PreferencePair:
    task: str
    prompt: str
    chosen: str  # correct rewrite
    rejected: str  # hallucinated rewrite


class PreferenceDataset(Dataset):
    def __init__(self, pairs: list[PreferencePair], tokenizer: PreTrainedTokenizerBase, max_tokens: int) -> None:
        if not pairs:
            raise ValueError("no preference pairs")
        self.items = []
        for p in pairs:
            head, chosen = encode_pair(tokenizer, p.task, p.prompt, p.chosen, max_tokens)
            _, rejected = encode_pair(tokenizer, p.task, p.prompt, p.rejected, max_tokens)
            self.items.append((head, chosen, rejected))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        return self.items[i]


def _first_divergence(a: list[int], b: list[int]) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def collate_pairs(items, pad_id: int) -> dict[str, torch.Tensor]:
    """Chosen rows first, then rejected rows: one forward pass scores both. Tensors [2B, L].

    `labels` cover the whole rewrite (for the chosen-NLL anchor); `dpo_labels` stop at the first token
    where chosen and rejected differ. Tokens before it are shared and cancel in the DPO margin anyway;
    tokens after it are continuations of *different* prefixes, and pushing down "the rest of a caption
    after a wrong colour" teaches the model nothing about the colour while damaging its grammar. So the
    margin compares exactly the choice where the hallucination happens.
    """
    rows = [(h, c, r) for h, c, r in items] + [(h, r, c) for h, c, r in items]
    length = max(len(h) + len(t) for h, t, _ in rows)
    ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), length), IGNORE, dtype=torch.long)
    dpo_labels = torch.full((len(rows), length), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, (h, t, other) in enumerate(rows):
        seq = h + t
        ids[i, : len(seq)] = torch.tensor(seq)
        labels[i, len(h) : len(seq)] = torch.tensor(t)
        stop = min(_first_divergence(t, other) + 1, len(t))
        dpo_labels[i, len(h) : len(h) + stop] = torch.tensor(t[:stop])
        mask[i, : len(seq)] = 1
    return {"input_ids": ids, "labels": labels, "dpo_labels": dpo_labels, "attention_mask": mask}


def sequence_logps(
    model: torch.nn.Module, batch: dict[str, torch.Tensor], keys: tuple[str, ...] = ("labels",)
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """For each label key: summed log-probability of its labelled tokens and their count, per row ([N], [N])."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logprobs = torch.log_softmax(logits[:, :-1].float(), dim=-1)  # [N, L-1, V]: position t predicts t+1
    out = []
    for key in keys:
        target = batch[key][:, 1:]  # [N, L-1]
        valid = target != IGNORE
        logp = logprobs.gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # [N, L-1]
        out.append(((logp * valid).sum(-1), valid.sum(-1)))
    return out


def dpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    beta: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean DPO loss and the per-pair implicit reward margin (both [B] inputs)."""
    margin = beta * ((policy_chosen - ref_chosen) - (policy_rejected - ref_rejected))  # [B]
    return -F.logsigmoid(margin).mean(), margin.detach()


@torch.no_grad()
def preference_metrics(
    model: PeftModel, dataset: PreferenceDataset, pad_id: int, beta: float, batch_size: int = 32
) -> dict[str, float]:
    """DPO loss, mean reward margin and reward accuracy (margin > 0) of `model` on pairs it did not train on.

    Before any DPO step the policy equals the reference, so the loss is log 2 and the margin 0; a recipe
    that learns must lower the loss and raise the margin on *held-out* pairs, not only on its own.
    """
    model.eval()
    losses, margins, chosen, rejected = [], [], [], []
    for start in range(0, len(dataset), batch_size):
        batch = collate_pairs([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))], pad_id)
        half = batch["input_ids"].shape[0] // 2
        with model.disable_adapter():
            ((ref, _),) = sequence_logps(model, batch, ("dpo_labels",))
        ((pol, _),) = sequence_logps(model, batch, ("dpo_labels",))
        _, margin = dpo_loss(pol[:half], pol[half:], ref[:half], ref[half:], beta)  # [B]
        losses.append(-F.logsigmoid(margin))
        margins.append(margin)
        chosen.append(beta * (pol[:half] - ref[:half]))  # implicit rewards: did chosen rise, rejected fall?
        rejected.append(beta * (pol[half:] - ref[half:]))
    margin = torch.cat(margins)
    return {"dpo_loss": float(torch.cat(losses).mean()), "reward_margin": float(margin.mean()),
            "reward_accuracy": float((margin > 0).float().mean()),
            "chosen_reward": float(torch.cat(chosen).mean()), "rejected_reward": float(torch.cat(rejected).mean())}


class DPOModule(L.LightningModule):
    """Trains the LoRA adapters of a peft-wrapped SFT model on preference pairs."""

    def __init__(self, model: PeftModel, beta: float = 0.1, lr: float = 5e-3, sft_weight: float = 0.0) -> None:
        super().__init__()
        self.model = model
        self.beta = beta
        self.lr = lr
        self.sft_weight = sft_weight

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        half = batch["input_ids"].shape[0] // 2
        with torch.no_grad(), self.model.disable_adapter():  # the reference = the frozen SFT model
            ((ref_logp, _),) = sequence_logps(self.model, batch, ("dpo_labels",))
        (logp, _), (full_logp, n_tok) = sequence_logps(self.model, batch, ("dpo_labels", "labels"))
        loss, margin = dpo_loss(logp[:half], logp[half:], ref_logp[:half], ref_logp[half:], self.beta)
        self.log("train/dpo_loss", loss, on_step=True, batch_size=half)
        if self.sft_weight:
            nll = -(full_logp[:half] / n_tok[:half].clamp(min=1)).mean()
            self.log("train/chosen_nll", nll, on_step=True, batch_size=half)
            loss = loss + self.sft_weight * nll
        self.log("train/loss", loss, on_step=True, prog_bar=True, batch_size=half)
        self.log("train/reward_margin", margin.mean(), on_step=True, batch_size=half)
        self.log("train/reward_accuracy", (margin > 0).float().mean(), on_step=True, batch_size=half)
        return loss

    def on_train_start(self) -> None:
        self.model.train()  # from_pretrained returns eval mode; adapters train in train mode

    def configure_optimizers(self):
        return torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad], lr=self.lr)
