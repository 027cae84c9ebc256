/**
 * Session data shaped like a shop's: what express-session keeps (the cookie),
 * a signed-in user's profile, a CSRF token, a cart, flash messages, a
 * recently-viewed list and feature flags. Ids and tokens are random (they do
 * not compress), names come from small vocabularies (as real catalogues
 * repeat words), so compression figures measured on it are honest.
 * Deterministic from the seed: the tests and benchmarks see the same bytes on
 * every run.
 */

/** mulberry32: tiny, fast, and good enough to vary fixture data. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ADJECTIVES = ['Classic', 'Slim', 'Relaxed', 'Organic', 'Vintage', 'Everyday', 'Premium', 'Lightweight', 'Waterproof', 'Cozy'];
const MATERIALS = ['Cotton', 'Linen', 'Merino', 'Denim', 'Leather', 'Cashmere', 'Recycled Polyester', 'Canvas', 'Suede', 'Bamboo'];
const PRODUCTS = ['T-Shirt', 'Chinos', 'Sweater', 'Jacket', 'Sneakers', 'Backpack', 'Scarf', 'Hoodie', 'Shorts', 'Belt', 'Cap', 'Dress'];
const BRANDS = ['Northwind', 'Fabrikam', 'Contoso', 'Tailspin', 'Adventure Works', 'Wide World'];
const COLORS = ['black', 'navy', 'olive', 'sand', 'charcoal', 'white', 'burgundy', 'sky blue'];
const SIZES = ['XS', 'S', 'M', 'L', 'XL', 'XXL', '38', '40', '42', '44'];
const FIRST = ['Ana', 'Bram', 'Chloé', 'Dmitri', 'Emeka', 'Fatima', 'Giulia', 'Hiroshi', 'Ingrid', 'José'];
const LAST = ['Okafor', 'Müller', 'Tanaka', 'García', 'Novak', 'Smith', 'Haddad', 'Larsen', 'Rossi', 'Kowalski'];
const FLASH = [
  'Item added to your cart.',
  'Your address was saved.',
  'Coupon applied: 10% off your order.',
  'Free shipping on orders over €50.',
  'Your password was changed.',
  'One item in your cart is back in stock.',
];
const FLAGS = ['newCheckout', 'oneClickBuy', 'darkMode', 'searchV2', 'recommendationsCarousel', 'loyaltyPoints', 'giftCards', 'klarna'];

/** Epoch ms every fixture's dates are near (mid-2024), so the output does not depend on today. */
const EPOCH = 1_718_000_000_000;

export function realisticSession(targetBytes: number, seed = 1): Record<string, unknown> {
  const next = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join('');
  const uuid = (): string => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
  const token = (n: number): string => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    return Array.from({ length: n }, () => alphabet[Math.floor(next() * 64)]).join('');
  };
  const when = (maxAgoMs: number): string => new Date(EPOCH - Math.floor(next() * maxAgoMs)).toISOString();
  const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-');

  const first = pick(FIRST);
  const last = pick(LAST);
  const userId = uuid();
  const session: Record<string, unknown> = {
    cookie: { originalMaxAge: 86_400_000, expires: new Date(EPOCH + 86_400_000).toISOString(), secure: true, httpOnly: true, path: '/', sameSite: 'lax' },
    csrfToken: token(43),
    user: {
      id: userId,
      email: `${slug(first)}.${slug(last)}${int(1, 99)}@example.com`,
      displayName: `${first} ${last}`,
      locale: pick(['en-GB', 'de-DE', 'fr-FR', 'ja-JP', 'es-ES']),
      timezone: pick(['Europe/Berlin', 'Europe/London', 'Asia/Tokyo', 'America/New_York']),
      roles: next() < 0.1 ? ['customer', 'staff'] : ['customer'],
      emailVerified: next() < 0.9,
      lastLoginAt: when(30 * 86_400_000),
      avatarUrl: `https://cdn.example-shop.com/avatars/${userId}.webp`,
      preferences: { theme: pick(['light', 'dark', 'system']), currency: 'EUR', newsletter: next() < 0.5, notifications: { email: true, sms: false, push: next() < 0.3 } },
    },
    cart: { id: uuid(), currency: 'EUR', items: [] as unknown[], couponCode: next() < 0.3 ? `SUMMER${int(10, 30)}` : null, updatedAt: when(3_600_000) },
    flash: { info: [pick(FLASH)], error: [] as string[] },
    recentlyViewed: [] as unknown[],
    featureFlags: Object.fromEntries(FLAGS.map((f) => [f, next() < 0.5])),
    experiments: { searchRanking: pick(['control', 'variant-a', 'variant-b']), checkoutButton: pick(['control', 'green']) },
    returnTo: `/account/orders?page=${int(1, 5)}`,
  };

  const cart = (session.cart as { items: unknown[] }).items;
  const viewed = session.recentlyViewed as unknown[];
  const product = () => {
    const name = `${pick(ADJECTIVES)} ${pick(MATERIALS)} ${pick(PRODUCTS)}`;
    return { productId: uuid(), name, slug: slug(name) };
  };
  const cartItem = () => {
    const p = product();
    return {
      lineId: hex(16),
      sku: `SKU-${int(100000, 999999)}`,
      productId: p.productId,
      name: p.name,
      brand: pick(BRANDS),
      variant: { size: pick(SIZES), color: pick(COLORS) },
      unitPrice: int(5, 250) * 100 - 1,
      quantity: int(1, 3),
      imageUrl: `https://cdn.example-shop.com/products/${p.productId}/${p.slug}-800x800.jpg`,
      addedAt: when(7 * 86_400_000),
      giftWrap: next() < 0.1,
    };
  };
  const viewedItem = () => {
    const p = product();
    return { productId: p.productId, slug: p.slug, title: p.name, price: int(5, 250) * 100 - 1, viewedAt: when(14 * 86_400_000) };
  };

  // Grow by whole entries, mostly viewed products (the list a shop caps
  // rarely, the cart more often), until the JSON reaches the target.
  let size = Buffer.byteLength(JSON.stringify(session));
  for (let i = 0; size < targetBytes; i++) {
    const entry = i % 3 === 0 ? cartItem() : viewedItem();
    (i % 3 === 0 ? cart : viewed).push(entry);
    size += Buffer.byteLength(JSON.stringify(entry)) + 1;
  }
  return session;
}
