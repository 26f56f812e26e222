"""Scrapy project: spiders for news, projects and patents. Knows nothing of the store or NLP."""
