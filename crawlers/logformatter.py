"""Scrapy log lines without document text: ids and URLs only."""

from scrapy import logformatter


class TextFreeLogFormatter(logformatter.LogFormatter):
    """Never log an item's fields (crawled text is untrusted and bulky); log its id instead."""

    def scraped(self, item, response, spider):
        return None  # one line per item adds nothing the stats do not count

    def dropped(self, item, exception, response, spider):
        return {"level": logformatter.logging.INFO, "msg": "Dropped %(source)s:%(id)s: %(exception)s",
                "args": {"source": getattr(item, "source", "?"), "id": getattr(item, "external_id", "?"),
                         "exception": exception}}

    def item_error(self, item, exception, response, spider):
        return {"level": logformatter.logging.ERROR, "msg": "Error processing %(source)s:%(id)s",
                "args": {"source": getattr(item, "source", "?"), "id": getattr(item, "external_id", "?")}}
