"""ShopDesk NLU: a fine-tuned BERT-family encoder doing intent classification and entity extraction jointly."""
