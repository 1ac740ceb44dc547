/*! PartnerLoop landing-page snippet. First-party only: it makes no requests.
 *
 * <script src="https://<your PartnerLoop host>/js/ref.js" data-window-days="30" async></script>
 *
 * - Reads the referral code from ?ref= (data-param to rename), keeps it in a
 *   first-party cookie (partnerloop_ref) for data-window-days days (the
 *   program's attribution window; default 30).
 * - Fills every input[name=ref] that is empty, adds client_reference_id to
 *   Stripe payment links (https://buy.stripe.com/...) and sets
 *   client-reference-id on <stripe-pricing-table> and <stripe-buy-button>,
 *   including elements added later.
 * - Exposes the code as window.PartnerLoop.ref (null when there is none), for
 *   a backend that creates Checkout sessions: pass it as client_reference_id.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var attr = function (name, def) {
    var v = script && script.getAttribute(name);
    return v === null || v === undefined || v === "" ? def : v;
  };
  var param = attr("data-param", "ref");
  var days = parseInt(attr("data-window-days", "30"), 10);
  if (!(days > 0 && days <= 365)) days = 30;
  var COOKIE = "partnerloop_ref";
  // Referral codes: letters, digits, '-' and '_' (and nothing a page could
  // be tricked into running).
  var valid = function (c) { return typeof c === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(c); };

  var readCookie = function () {
    var m = document.cookie.match(/(?:^|;\s*)partnerloop_ref=([^;]*)/);
    if (!m) return null;
    try { return decodeURIComponent(m[1]); } catch (e) { return null; }
  };
  var fromURL = null;
  try { fromURL = new URLSearchParams(window.location.search).get(param); } catch (e) { fromURL = null; }

  var ref = null;
  if (valid(fromURL)) {
    ref = fromURL;
    document.cookie = COOKIE + "=" + encodeURIComponent(ref) + "; Max-Age=" + days * 86400 +
      "; Path=/; SameSite=Lax" + (window.location.protocol === "https:" ? "; Secure" : "");
  } else if (valid(readCookie())) {
    ref = readCookie();
  }

  var api = window.PartnerLoop = window.PartnerLoop || {};
  api.ref = ref;

  var fill = function (root) {
    if (!ref || !root || !root.querySelectorAll) return;
    var i, els = root.querySelectorAll('input[name="ref"]');
    for (i = 0; i < els.length; i++) if (!els[i].value) els[i].value = ref;
    els = root.querySelectorAll('a[href^="https://buy.stripe.com/"]');
    for (i = 0; i < els.length; i++) {
      try {
        var u = new URL(els[i].href);
        if (!u.searchParams.get("client_reference_id")) {
          u.searchParams.set("client_reference_id", ref);
          els[i].href = u.toString();
        }
      } catch (e) { /* not a URL: leave it */ }
    }
    els = root.querySelectorAll("stripe-pricing-table, stripe-buy-button");
    for (i = 0; i < els.length; i++) {
      if (!els[i].getAttribute("client-reference-id")) els[i].setAttribute("client-reference-id", ref);
    }
  };
  api.fill = function () { fill(document); };

  var start = function () {
    fill(document);
    if (ref && window.MutationObserver) {
      new MutationObserver(function (records) {
        for (var i = 0; i < records.length; i++) {
          for (var j = 0; j < records[i].addedNodes.length; j++) {
            var n = records[i].addedNodes[j];
            if (n.nodeType === 1) fill(n.parentNode || n);
          }
        }
      }).observe(document.documentElement, { childList: true, subtree: true });
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
