import type { CampaignLink } from "../db/schema";

/**
 * A value derived from one of a link's URLs, computed once per link object and URL. A changed link
 * is a new object, so its entries go with the old one.
 */
export function perLinkUrl<T>(
  derive: (url: string, link: CampaignLink) => T,
): (link: CampaignLink, url: string) => T {
  const cache = new WeakMap<CampaignLink, Map<string, T>>();
  return (link, url) => {
    let byUrl = cache.get(link);
    if (byUrl === undefined) {
      byUrl = new Map();
      cache.set(link, byUrl);
    }
    let value = byUrl.get(url);
    if (value === undefined && !byUrl.has(url)) {
      value = derive(url, link);
      byUrl.set(url, value);
    }
    return value as T;
  };
}
