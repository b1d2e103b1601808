"""Everyday English words. A catalog name made only of these ("wake me up",
"hello", "in the end") is suggested only where the words around it say it is a
name ("play hello by Adele"), so that ordinary requests are not littered with
proposals to reject."""

COMMON_WORDS = frozenset(
    """
    a about above after again against all alone always am an and another any anything are around as
    ask at away baby back bad be beat because bed been before being below best better between big
    bit black blue body boss both boy break bring burn but by call calm can cant car change circles
    city closer cold come coming could crazy creep cry dance dancing dark day days dead did do does
    doing dont down dream dreams drive drop easy eat else end enough even ever every everything
    eyes face fall feel feeling find fire first fix flowers fly for forever found free friday friend
    friends from fun get girl give go god going gone good got great greedy green guts had happy hard
    has have he heart hello help her here hero heroes hey high him his hold home hope hot house how
    hurts i if im in inside into is it its just keep kid kids kill kind king know last late least
    leave left less let life light like line listen little live long look lose lost love low lucky
    made make man many maybe me mean mind mine miss moment money more morning most mother move much
    music my myself name need never new next nice night no not nothing now numb of off oh ok okay old
    on once one only open or other our out over own paint party people perfect place play please
    plus power pretty put queen radio rain ready real really red right ring rise road rock roll run
    running sad said same save say see seven shake shallow she shine should show side sign since
    sleep slow small so some someone something song sorry sound sour stay still stop story
    summer sun sure sweet take talk tell than thank thanks that the their them then there these they
    thing things think this those thunder time to today together tomorrow tonight too top touch
    true try turn two under until up us use very views wait wake walk want was way we weekend well
    were what when where which while white who why wild will wish with without woman wonder world
    would yeah year years yellow yes yesterday yet you young your yours
    zero two three four five six eight nine ten eleven twelve twenty thirty hundred
    am pm timer alarm minutes minute hours hour seconds weather news today set add list shopping
    """.split()
)
