/*
 * The last page of a connect flow started by <pipes-connect mode="popup">: tells the opener how it went, restricted
 * to the embedding page's origin, then closes. When the opener is gone (a provider page's COOP severed it), the widget
 * learns the result by polling Pipes, and this page only asks the user to close the window.
 */
(() => {
  const node = document.getElementById('pipes-result');
  if (!node) return;
  const origin = node.dataset.origin;
  const message = {
    source: 'pipes-connect',
    type: 'result',
    status: node.dataset.status,
    provider: node.dataset.provider,
    connected_account_id: node.dataset.connectedAccountId || null,
    error: node.dataset.error || null,
    error_description: node.dataset.errorDescription || null,
  };
  let delivered = false;
  try {
    if (origin && window.opener && !window.opener.closed) {
      window.opener.postMessage(message, origin);
      delivered = true;
    }
  } catch {
    delivered = false;
  }
  if (delivered) setTimeout(() => window.close(), 150);
})();
