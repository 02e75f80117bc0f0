"""The captioner: a frozen visual encoder and a trainable caption decoder (report 3.2), plus a
transformers vision-language backend behind the same `Captioner` interface."""
