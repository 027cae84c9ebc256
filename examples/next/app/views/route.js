import { getSession } from '../../lib/session.js';

// A Route Handler reads and writes the session: GET /views counts this client's visits.
export async function GET() {
  const session = await getSession();
  const views = (session.get('views') ?? 0) + 1;
  session.set('views', views);
  await session.save();
  return Response.json({ views });
}
