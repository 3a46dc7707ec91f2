"""ShopDesk's product recommender: a hybrid of purchase co-occurrence and product-name meaning.

Train with `python -m recommender.train`; serve through `recommender.service.RecommendationService`.
"""
