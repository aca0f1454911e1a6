// Sign-in page: keep the bookmarked view (the URL hash) through the sign-in redirect.
// The browser carries the form action's fragment over the 303 to "/".
const form = document.getElementById("signin-form");
if (form && location.hash.startsWith("#/")) form.action = `/login${location.hash}`;
