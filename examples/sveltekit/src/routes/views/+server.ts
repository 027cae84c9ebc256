import { json, type RequestHandler } from '@sveltejs/kit';

// GET /views counts this client's visits: the hook saves the change after the response is made.
export const GET: RequestHandler = ({ locals }) => {
  const views = (locals.session.get<number>('views') ?? 0) + 1;
  locals.session.set('views', views);
  return json({ views });
};
