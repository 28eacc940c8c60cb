// Staff only: a link to Flower, the Celery dashboard. Its URL comes from the
// hub's FLOWER_URL setting through GET /console/config, which tells it to
// staff only. Flower asks for its own basic-auth login.

function flowerUrl(ctx) {
  const url = ctx.config && ctx.config.flower_url;
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
}

export default {
  id: "flower",
  visible: (ctx) => Boolean(ctx.user.is_staff && flowerUrl(ctx)),
  nav: [{ label: "Flower", href: flowerUrl, external: true }],
  routes: [],
};
