"""Deep Linking: an instructor picks, from the LMS, whether a new link opens the whole quiz
or one question; pylti1p3 signs the reply the LMS then stores as the link."""

from __future__ import annotations

from dataclasses import dataclass

from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException

from app.db import Database
from app.lti.adapters import LtiCookies, LtiLaunch, LtiRequest, LtiSession
from app.lti.keys import KeyStore
from app.lti.launch import LaunchRefused
from app.lti.storage import DatabaseLaunchStorage
from app.lti.toolconf import DatabaseToolConf
from app.questions import QuestionBank

QUIZ = "quiz"  # the choice that means the whole quiz


@dataclass(frozen=True)
class Reply:
    """The signed reply and where the browser posts it."""

    return_url: str
    jwt: str
    title: str


def deep_link_reply(
    database: Database,
    keys: KeyStore,
    bank: QuestionBank,
    launch_id: str,
    choice: str,
    base_url: str,
) -> Reply:
    """Sign the reply for the chosen resource; refuse an unknown choice or a used launch."""
    if choice == QUIZ:
        title, url, custom = "TensorFlow quiz", f"{base_url}/lti/launch", {}
    else:
        question = bank.by_id(choice)
        if question is None:
            raise LaunchRefused("Choose the whole quiz or one of its questions")
        title = f"Question {question.number}: {question.title}"[:200]
        url = f"{base_url}/lti/launch?question={question.id}"
        custom = {"question": str(question.id)}
    request = LtiRequest({}, {}, base_url.startswith("https://"))
    storage = DatabaseLaunchStorage(database)
    with database.reading() as session:
        config = DatabaseToolConf(session, keys.current())
    try:
        launch = LtiLaunch.from_cache(
            launch_id, request, config, LtiSession(storage), LtiCookies(request)
        )
        link = launch.get_deep_link()
        resource = DeepLinkResource().set_url(url).set_title(title).set_custom_params(custom)
        jwt = link.get_response_jwt([resource])
        settings = launch.get_launch_data()[
            "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
        ]
    except LtiException as error:
        raise LaunchRefused(str(error)) from None
    return Reply(settings["deep_link_return_url"], jwt, title)
