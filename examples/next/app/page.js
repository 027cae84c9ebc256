import { getSession } from '../lib/session.js';
import { like } from './actions.js';

export const dynamic = 'force-dynamic';

// A Server Component may read the session (a write here is a ReadOnlySessionError: Next.js sends the page before it could set a cookie).
export default async function Page() {
  const session = await getSession();
  return (
    <main>
      <p>
        views: <span id="views">{session.get('views') ?? 0}</span> (GET <a href="/views">/views</a> to count one), likes:{' '}
        <span id="likes">{session.get('likes') ?? 0}</span>
      </p>
      <form action={like}>
        <button type="submit">Like</button>
      </form>
    </main>
  );
}
